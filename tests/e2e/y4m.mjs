// Makes a Y4M video (what Chromium's fake camera plays) showing a PNG image,
// here a screenshot of the invite's QR code. Pixels are read in a blank page
// of the test browser, so no image library is needed.

const W = 640;
const H = 480;

/** Returns a Y4M file (Buffer) of 10 frames showing `png` centred on white. */
export async function qrVideo(browser, png) {
  const page = await browser.newPage();
  try {
    const luma = await page.evaluate(async ({ b64, W, H }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = W;
      c.height = H;
      const ctx = c.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, W, H);
      const side = Math.min(W, H) - 40;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, (W - side) / 2, (H - side) / 2, side, side);
      const rgba = ctx.getImageData(0, 0, W, H).data;
      const y = new Array(W * H);
      for (let i = 0; i < W * H; i++) {
        y[i] = Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
      }
      return y;
    }, { b64: png.toString('base64'), W, H });
    const frame = Buffer.concat([
      Buffer.from('FRAME\n'),
      Buffer.from(luma),
      Buffer.alloc((W / 2) * (H / 2) * 2, 128), // neutral chroma: grey image
    ]);
    const header = Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`);
    return Buffer.concat([header, ...Array(10).fill(frame)]);
  } finally {
    await page.close();
  }
}
