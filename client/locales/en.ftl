# Parley's English text. Every message here is in ru.ftl too (the client's
# unit tests check both files against each other and against the code).

decimal-separator = .

## The app's frame

tagline = Private messages, files and calls, end-to-end encrypted, through a relay you run.
version = Parley { $version }
back = Back to conversations
update-ready = A new version of Parley is ready.
update-reload = Reload to update
fatal-other-tab = Parley is already open in another tab or window. Use that one, or close it and reload this one.
fatal-unreadable = Stored data could not be read: { $reason }
still-starting = Parley is still starting; try again.
conn-online = Connected
conn-connecting = Connecting…
conn-offline = Offline: { $reason }
conn-lost = connection lost; reconnecting
conn-unreachable = relay unreachable
relay-checking = Checking the relay…
relay-ready = Relay online
relay-degraded = Relay is up but not ready: { $reason }
relay-degraded-unknown = unknown
relay-unreachable = Relay unreachable; retrying
screen-unavailable = This screen could not be loaded
screen-unavailable-detail = Parley loads it the first time it is opened, and it could not be fetched. Check the connection and try again; if Parley was updated meanwhile, reload the page.
screen-retry = Try again
part-loading = Loading…
part-unavailable = This could not be loaded; check the connection, or reload the page if Parley was updated.
part-dismiss = Put the file aside

## Lengths of time

# $case: nominative (a menu entry) or accusative ("after 1 week"); English has one form.
period-seconds = { $n ->
    [one] { $n } second
   *[other] { $n } seconds
}
period-minutes = { $n ->
    [one] { $n } minute
   *[other] { $n } minutes
}
period-hours = { $n ->
    [one] { $n } hour
   *[other] { $n } hours
}
period-days = { $n ->
    [one] { $n } day
   *[other] { $n } days
}
period-weeks = { $n ->
    [one] { $n } week
   *[other] { $n } weeks
}
duration-days = { $n } d
duration-hours = { $n } h
duration-minutes = { $n } min
duration-seconds = { $n } s
timer-off = Off

## Onboarding

onboarding-title = Create your identity
onboarding-hint = Your keys are made and kept in this browser. The relay never sees them.
onboarding-name = Your name
onboarding-invite-code = Invite code from the relay's operator
onboarding-email = Email address (this relay asks for one)
onboarding-send-code = Email me a code
onboarding-code-sent = A 6-digit code is on its way. It is valid for 10 minutes.
onboarding-email-code = Code from the email
onboarding-creating = Creating…
onboarding-create = Create my identity
onboarding-restore = Restore from a backup
onboarding-restore-title = Restore from a backup
onboarding-restore-hint = This browser becomes a new device of the account in the backup, with its contacts and history.
onboarding-restore-file = Backup file
onboarding-restore-with-password = Password
onboarding-restore-with-key = Recovery key
onboarding-restore-secret-password = Backup password
onboarding-restore-secret-key = Recovery key (dashes and case do not matter)
onboarding-restore-no-file = Choose the backup file.
onboarding-restore-working = Restoring…
onboarding-restore-button = Restore
onboarding-restore-back = Create a new identity instead
onboarding-name-missing = Choose a name your contacts will see.

## Conversation list

settings-title = Settings
signed-in-as = Signed in as
invite-title = Invite someone
join-title = Join an invite
home-empty = No conversations yet. Invite someone, or join their invite by scanning their QR code or typing their PIN.
home-conversations = Conversations
presence-online = online
presence-offline = offline
preview-hello = Paired — say hello
unread = { $count ->
    [one] { $count } unread message
   *[other] { $count } unread messages
}

## Settings

settings-device = This device
settings-name = Name:
settings-device-key = Device key:
settings-keys-hint = Your private keys are stored in this browser only, encrypted with a key the browser will not export.
settings-language = Language
settings-language-unavailable = { $language } could not be loaded. Check the connection and try again.
settings-privacy = Privacy
settings-typing = Typing indicators
settings-typing-hint = Contacts see when you are typing, and you see when they are. Off means neither.
settings-presence = Show when I am online
settings-presence-hint = Your contacts (and only they) see when Parley is open on this device, and you see when theirs is. Off means neither; typing indicators need it on both sides.
settings-backup = Back up
settings-backup-hint = A file with your account key, contacts, history and settings (not disappearing messages), encrypted. Restoring it in another browser makes that browser a new device of your account: conversations go on without pairing again. Whoever opens the file holds your account: keep it like a password.
settings-backup-with-password = With a password
settings-backup-with-key = With a recovery key
settings-backup-password = Backup password
settings-backup-password-again = The same password again
settings-backup-too-short = Use at least { $min } characters.
settings-backup-mismatch = The two passwords differ.
settings-backup-make-key = Show my recovery key
settings-backup-key-hint = Write this key down now: it is shown only once, and without it the file cannot be opened.
settings-backup-key-label = Recovery key
settings-backup-wrote-it = I wrote it down
settings-backup-download = Download the backup
settings-backup-working = Encrypting…
settings-backup-done = The backup file was saved.
settings-reset = Reset identity keys
settings-reset-hint = If this device's keys may have been exposed, replace them. Conversations stay; each contact sees that your safety number changed and must confirm it.
settings-reset-done = New keys are in use. Your contacts will be asked to check your new safety number.
settings-reset-undone = The earlier reset never reached the relay and was undone; your keys are unchanged. Reset again to replace them.
settings-reset-confirm = Really replace my keys? Click again
settings-reset-button = Reset my identity keys
settings-delete = Delete account
settings-delete-hint = Erases this identity, its contacts and history from this browser, and everything the relay holds for it. This cannot be undone.
settings-delete-confirm = Really delete everything? Click again
settings-delete-button = Delete my account

## Invite and join

invite-expired-label = Expired
invite-expires-in = Expires in { $time }
invite-attempts-left = Someone entered a wrong code or sent a damaged reply. The invite still works; { $count ->
    [one] { $count } more failed try
   *[other] { $count } more failed tries
} will end it.
invite-new = Make a new invite
invite-close-others = Close them and make a new invite
invite-preparing = Preparing a one-time invite…
invite-hint = Let your contact scan this code with Parley, or send them the link. It works once.
invite-qr = Invite QR code
invite-link = Or send this link over a channel you trust
invite-copied = Copied
invite-copy-refused = Copy refused: select the link and copy it
invite-copy = Copy
invite-pin-label = PIN (for typing it in on the other device)
invite-pin = Pairing PIN
invite-getting-pin = Getting a PIN…
invite-show-pin = Show a PIN instead
invite-waiting = Waiting for your contact…
join-pairing = Pairing… keep both screens open.
join-scan = Scan the QR code
join-scan-start = Scan with camera
join-scan-prompt = Point the camera at the invite's QR code.
join-pin = Type the PIN
join-pin-label = PIN shown on the other screen
join-pin-button = Join with PIN
join-link = Paste the invite link
join-link-label = Invite link
join-link-button = Join with link
scanner-preview = Camera preview
scanner-stop = Stop camera

## A conversation

chat-verified-title = Safety number verified
chat-verified = verified
chat-typing = typing…
chat-audio-call = Audio call
chat-video-call = Video call
chat-timer = Disappearing messages
chat-delete-confirm = Really delete? Click again
chat-delete = Delete conversation
chat-changed = { $peer }'s safety number has changed.
chat-changed-hint = They reset their keys, or someone may be trying to intercept your messages. Compare the new safety number with them before you send anything.
chat-show-safety = Show safety number
chat-allow-sending = I compared it: allow sending
chat-messages = Messages
attach-title = Send a file
attach-cancel = Cancel
attach-send = Send file
edit-tools = Edit the image
edit-crop = Crop
edit-blur = Blur
edit-pixelate = Pixelate
edit-rotate = Rotate
edit-undo = Undo
edit-apply = Apply
edit-hint = Draw a region on the image, or move it with the arrow keys (Shift resizes).
edit-region = Selected region: arrow keys move it, Shift with the arrows resizes it, Enter applies.
edit-preview = The image as it will be sent
edit-applied = Edit applied; the preview shows what will be sent.
edit-rotated = Turned a quarter clockwise.
edit-undone = Last edit undone.
chat-file-lifetime-before = Files are deleted after
chat-file-lifetime = File lifetime
chat-delete-after-download = or as soon as it is downloaded
chat-attach = Attach a file
chat-message = Message
chat-placeholder = Write a message
chat-send = Send
chat-disappears-in = disappears in { $time }
chat-unread = Unread messages
chat-new-below = { $count ->
    [one] { $count } new message
   *[other] { $count } new messages
}
chat-bytes-left = { $count ->
    [one] { $count } byte left
   *[other] { $count } bytes left
}
chat-bytes-over = { $count ->
    [one] { $count } byte over the limit
   *[other] { $count } bytes over the limit
}
chat-too-long = This message is too long to send: { $size } bytes, the limit is { $max } (emoji, accented letters and many scripts take several bytes each). Shorten it by { $over ->
    [one] { $over } byte
   *[other] { $over } bytes
}.
status-queued = Waiting to send
status-sent = Sent
status-delivered = Delivered
status-read = Read
safety-title = Safety number
safety-hint = Compare these digits with your contact's screen, in person or on a call, or scan the code on their screen. If they match, nobody is in the middle.
safety-scan = Scan their code
safety-scan-prompt = Point the camera at the code under their safety number.
safety-mark-verified = I compared the numbers: mark as verified
safety-match = The codes match: marked as verified.

## Conversation events

notice-paired = You paired with { $peer }. Messages are end-to-end encrypted.
notice-timer-off-me = You turned off disappearing messages.
notice-timer-off-peer = { $peer } turned off disappearing messages.
notice-timer-me = You set messages to disappear after { $period }.
notice-timer-peer = { $peer } set messages to disappear after { $period }.
notice-undecryptable = A message from { $peer } could not be decrypted ({ $why }).
notice-send-failed = A message could not be sent: { $why }
notice-forged-keys = The relay offered keys for { $peer } that { $peer } did not sign. Messages to { $peer } wait; if this persists, someone may be trying to intercept them.
notice-identity-changed = { $peer }'s safety number changed: they reset their keys. Compare the new number before sending.
notice-devices-added = { $peer } added { $count ->
    [one] a device
   *[other] { $count } devices
}. The safety number is unchanged.
notice-devices-removed = { $peer } removed { $count ->
    [one] a device
   *[other] { $count } devices
}.
notice-devices-changed = { $peer } added { $added } and removed { $removed } devices. The safety number is unchanged.
notice-device-list-forged = The relay served a list of { $peer }'s devices that their account did not sign. Messages to { $peer } were not sent; someone may be trying to intercept them.
notice-device-list-rollback = The relay served a list of { $peer }'s devices older than one already seen. Messages to { $peer } were not sent; someone may be trying to intercept them.
notice-device-list-equivocation = The relay served a list of { $peer }'s devices that contradicts one already seen. Messages to { $peer } were not sent; someone may be trying to intercept them.

## Files

size-bytes = { $n } B
size-kb = { $n } kB
size-mb = { $n } MB
size-gb = { $n } GB
progress = { $phase } { $percent } % · { $speed } MB/s
phase-encrypting = Encrypting
phase-uploading = Uploading
phase-downloading = Downloading
file-deleted = Deleted from storage
file-deleted-in = Deleted from storage in { $time }
file-waiting = Waiting for { $peer } to accept
file-peer-downloaded = { $peer } downloaded it
file-peer-declined = { $peer } declined it
file-gone = Downloaded and deleted from storage
file-downloaded = Downloaded
file-declined = Declined
file-type-unknown = file
file-metadata-removed = Location and camera data removed
file-accept = Accept and download
file-decline = Decline
file-preview = Image preview

## Calls

call-calling = Calling…
call-incoming-video = Incoming video call
call-incoming-audio = Incoming audio call
call-connecting = Connecting…
call-reconnecting = Reconnecting…
call-dialog = Call
call-accept = Accept
call-decline = Decline
call-unmute = Unmute
call-mute = Mute
call-camera-on = Turn camera on
call-camera-off = Turn camera off
call-quality = Quality
call-quality-label = Call quality
call-quality-low = Low (125 kbit/s)
call-quality-normal = Normal (300 kbit/s)
call-quality-high = High (2 Mbit/s)
call-hang-up = Hang up
call-close = Close
call-ended = Call ended
call-declined = Call declined
call-busy = Busy in another call
call-unanswered = No answer
call-failed = Call failed: the connection could not be kept up
call-failed-detail = Call failed: { $detail }

## Errors

failure-unreachable = The relay cannot be reached. Check your connection; Parley retries by itself.
# $detail is the relay's own explanation (in English).
failure-refused = { $reason } The relay says: { $detail }
failure-unexpected = The relay sent an unexpected answer ({ $status }).
code-bad-request = The relay could not read the request.
code-unauthorized = The relay does not recognise this device.
code-forbidden = The relay refused.
code-not-found = The relay does not have it.
code-conflict = That conflicts with what the relay has.
code-too-large = That is larger than the relay allows.
code-length-mismatch = The data arrived incomplete.
code-rate-limited = Too many requests; wait a moment.
code-unavailable = The relay is busy or partly down; try again later.
code-internal = The relay failed.
code-method-not-allowed = The relay does not allow that.
code-quota-exceeded = This device's allowance on the relay is used up.
code-other = The relay refused.
engine-unknown-contact = There is no such contact.
engine-bad-text = A message must be 1 to { $max } bytes.
engine-bad-timer = The timer must be between 1 second and 4 weeks.
engine-corrupt = Stored data is damaged.
engine-session = The message could not be encrypted.
engine-bad-bundle = The contact's keys from the relay are invalid.
engine-identity-changed = The safety number changed: compare it and confirm before sending.
engine-offline = Not connected to the relay.
engine-no-session = The contact has not finished pairing yet.
engine-not-settled = Wait until every message is sent and Parley is connected, then try again.
engine-reset-pending = A key reset is already under way; it is being finished.
engine-no-account = This device has no account yet; connect to the relay first.
engine-account = The account's key or device list is invalid.
engine-not-listed = The account's device list does not include this device.
engine-unknown-room = There is no such room.
engine-room = The room refused this change or message (it was not signed, not allowed, or not for this room).
account-bad-challenge = The relay sent an invalid challenge.
account-reset-unanswered = { $failure } Try again: the reset is finished or undone first.
account-busy = Another account request is under way; try again in a moment.
session-storage = Parley could not save its state. Reload Parley to continue.
session-no-account = There is no account in this browser.
store-no-window = Parley must run in a browser window.
store-no-indexeddb = IndexedDB is not available (private mode?).
store-browser = Browser storage failed ({ $step }): { $detail }
store-browser-plain = Browser storage failed ({ $step }).
store-damaged = Stored record { $record } is damaged.
store-undecryptable = Stored record { $record } does not decrypt.
camera-unsupported = This browser cannot use a camera here (it needs HTTPS).
camera-refused = Camera access was refused or no camera was found.
camera-failed = The camera could not be opened.
rtc-no-media-devices = This browser cannot use a microphone here (it needs HTTPS).
rtc-media-refused = Microphone or camera access was refused or is not available.
rtc-no-webrtc = This browser cannot make calls (no WebRTC).
rtc-browser = The browser's call connection failed: { $detail }
pairing-invalid-invite = This is not a valid Parley invite.
pairing-wrong-code = Wrong pairing code.
pairing-authentication = The pairing message could not be authenticated.
pairing-bad-signature = The other device's identity could not be verified.
pairing-identity-mismatch = The other device's identity does not match the invite.
pairing-malformed = The pairing message is damaged.
pairing-too-large = The profile is too large.
flow-expired = This invite has expired; ask for a new one.
flow-other-relay = This invite is for another relay ({ $relay }).
flow-own-invite = This is your own invite.
flow-no-pin-slot = This invite has no PIN.
flow-pin-exists = This invite already has a PIN.
flow-attempts-used = This invite had too many failed attempts; make a new one.
invite-too-many = You already have { $max } open invites: in other tabs or windows, or on pages closed in the last 10 minutes.
invite-cancelled = Invite cancelled.
invite-expired = This invite expired before anyone joined. Make a new one.
invite-gone = This invite is gone (expired or closed). Make a new one.
invite-pin-setup = Could not prepare the PIN ({ $failure }). Make a new invite.
invite-void = Pairing failed ({ $reason }). This invite had too many wrong attempts and is void. Make a new one.
pin-rate-limited = Too many PIN invites from your network just now. Use the QR code or link, or ask for a PIN again in a few minutes.
join-bad-code = A pairing code looks like 1234-567890.
join-no-such-code = No invite has this code. It may have expired, been used, or been mistyped.
join-too-many-codes = Too many codes tried from this device or network. Wait a minute, then try again.
join-not-ready = The invite is not ready yet; try again in a moment.
join-invite-gone = This invite has expired, was cancelled or was already used. Ask for a new one.
join-busy = Someone else is joining with this invite right now. Try again in a few seconds.
join-no-answer = The other device did not answer. Try again.
join-wrong-pin = Wrong code. Check it and try again; the invite still works.
join-link-rejected = The inviting device could not verify this link. Ask for a new invite.
join-closed = Wrong code, or the invite was cancelled or had too many wrong attempts. Ask for a new invite.
safety-unsupported = This is not a Parley safety-number code. Scan the code under their safety number.
safety-mismatch = The codes do not match. Do not trust this conversation until you find out why.
blob-unreachable = Storage is unreachable.
blob-refused = The storage link expired or was refused.
blob-failed = Storage answered with an error ({ $status }).
transfer-too-large = { $name } is too large for this relay. { $failure }
transfer-gone = The file is no longer available: it was deleted or expired.
transfer-blob = { $reason } The file was not transferred.
job-malformed = The file worker got a malformed request.
job-unreadable = The file could not be read (was it moved or changed?).
job-changed = The file changed while it was being encrypted; it was not sent.
job-no-room = The browser could not hold the file (out of memory or storage).
job-unsendable = The file worker could not hand the result back; the file was not processed.
job-unreachable = Storage is unreachable; try again later.
job-link-expired = The download link expired; try again.
job-gone = The file is no longer in storage.
job-storage = Storage answered { $status }; try again later.
job-interrupted = The download was interrupted; try again.
job-tampered = The file was altered in storage (it does not match what was sent); it was not saved.
job-helper-stopped = The file worker's second thread stopped; the file was not processed. Try again.
job-edit-unsupported = This kind of image cannot be edited; send it without edits.
job-edit-decode = The image could not be read for editing.
job-edit-too-large = The image is too large to edit; send it without edits.
job-edit-bad = That edit does not fit the image; draw the region again.
job-edit-encode = The edited image could not be written; nothing was sent.
worker-stopped = The file worker stopped unexpectedly; the file was not processed.
worker-empty = The file worker returned nothing; the file was not processed.
upload-no-xhr = This browser cannot upload files (no XMLHttpRequest).

## Storage (Settings)
storage-title = Storage in this browser
storage-persistent = This browser keeps Parley's data: it will not delete it to free space.
storage-best-effort = This browser may delete Parley's data, your account and every conversation with it, when it runs short of space.
storage-back-up = Keep a backup of your account so you can restore it if that happens.
storage-ask = Ask the browser to keep the data

## Devices (Settings)
devices-title = Your devices
devices-hint = Contacts encrypt every message for each of these devices. Remove a device you no longer use: the relay erases it and contacts stop encrypting to it.
devices-this = This device
devices-other = Device { $id }
devices-joined = joined { $date }
devices-remove = Remove
devices-remove-confirm = Remove it for good?
device-removed = This device was removed from your account by another of your devices, and the relay erased it. It can no longer receive messages.

## Backups

backup-wrong-key = Wrong password or recovery key.
backup-not-a-backup = This file is not a Parley backup (or was made by a newer version).
backup-bad-parameters = This backup asks for more work than this browser allows; it was not opened.
backup-key-typo = The recovery key has a typo: check each group.
backup-damaged = The backup file is damaged.
backup-browser = The browser could not read or save the file.
restore-not-ready = A backup can only be restored on a new device.
restore-busy = A restore is already under way.
restore-foreign-list = The relay's device list for this account does not match the backup: nothing was restored.
restore-rollback = The relay serves an older device list ({ $relay }) than the backup's ({ $backup }): nothing was restored.
restore-equivocation = The relay serves another device list than the backup's under the same version: nothing was restored.
restore-account = The account cannot take another device (it lists the most allowed).

## Calls (Settings)
calls-title = Calls
calls-turn = This relay passes calls through its TURN server when a direct connection is not possible.
calls-no-turn = This relay has no TURN server: calls connect directly or not at all, so calls between different networks (mobile data, many offices) may fail.
calls-turn-unknown = Whether this relay can pass calls through a TURN server is not known yet (the relay did not answer).

# Linking a device (ADR 0022)
pairing-wrong-purpose = This code is for the other kind of pairing: linking your own device, or adding a contact. Use the matching screen.
link-no-account = This device is not ready to link another one yet. Wait until it is connected, then try again.
link-not-new = Only a new device can be linked into an account.
link-consent = The new device’s answer could not be verified. Start again on the new device.
link-not-listed = That device is not in your account.
link-wrong-account = The history that arrived belongs to another account. Nothing was taken in.
link-damaged = The history that arrived is damaged. Link this device again.
link-gone = The history is no longer on the relay. Link this device again.
link-no-archive = Your other device sent nothing. Link this device again.
link-show-title = Link this device
link-show-hint = On a device where you already use Parley, open Settings → Your devices → Link a new device, then scan this code or type its PIN. Your contacts and history come over from it.
link-receiving = Linked. Receiving your contacts and history…
link-scan-title = Link a new device
link-scan-hint = On the new device, choose “Link to my other device” and scan or type the code it shows. It gets your contacts and history; your safety numbers stay the same.
link-sending = Linked. Sending your contacts and history…
onboarding-link = Link to my other device
onboarding-link-title = Link to your other device
onboarding-link-hint = This browser becomes another device of your account: you will scan its code from a device where you already use Parley.
onboarding-link-button = Show the code
devices-link = Link a new device
call-handled-elsewhere = Answered or declined on another of your devices.
preview-file = File: { $name }
home-pick = Choose a conversation, or invite someone.
chat-details = Conversation details
safety-pending = The safety number appears once your two devices have exchanged their keys, in a moment.
day-today = Today
day-yesterday = Yesterday

## Notifications (Settings, and what the service worker shows)
notify-title = Notifications
notify-off = Off
notify-on = On: “New message” only
notify-previews = On, with the sender’s name and a preview
notify-hint = When Parley is closed, the relay asks your browser’s push service to wake it, with nothing in the request but “something arrived”. Names and previews are decrypted on this device and shown only while a Parley page is open in the background.
notify-new-message = New message
notify-file = File: { $name }
notify-unsupported = This browser cannot show notifications for Parley (an installed app or a recent browser can).
notify-denied = The browser refused notifications. Allow them for this site in the browser’s settings, then try again.
notify-subscribe-failed = The browser’s push service did not accept a subscription. Try again later.
# Group rooms
room-new = New room
room-new-title = New room
room-no-contacts = Pair with someone first: a room is made of your contacts.
room-name = Room name
room-name-placeholder = Weekend trip
room-pick = Members
room-pick-hint = Pick the contacts to add. Members see each other’s names, and their devices start encrypted sessions with each other.
room-lifetime = The room ends
room-lifetime-never = Never
room-create = Create room
room-error-name = Give the room a name.
room-error-members = Pick at least one contact.
room-members = { $count ->
    [one] { $count } member
   *[other] { $count } members
}
room-details = Members
room-member-list = Members
room-admin = admin
room-you = you
room-safety = Safety number
room-remove = Remove
room-remove-confirm = Remove { $name }? Click again
room-leave = Leave room
room-leave-confirm = Really leave? Click again
room-read-only = You are no longer a member of this room: its history stays here, read-only.
room-ends-in = ends in { $time }
room-read-by = read by { $read } of { $total }
room-delivered-to = delivered to { $count } of { $total }
room-preview-you = You: { $text }
room-preview-from = { $name }: { $text }
room-notice-created = { $by } created the room
room-notice-added = { $by } added { $name }
room-notice-removed = { $by } removed { $name }
room-notice-removed-you = { $by } removed you from the room
room-notice-left = { $name } left
room-notice-you-left = You left the room
room-notice-promoted = { $by } made { $name } an admin
room-notice-renamed = { $by } renamed the room to “{ $name }”
room-notice-lifetime = { $by } changed when the room ends
room-notice-ignored = A change by { $by } was ignored: they are not allowed to make it.
engine-room-refused = Only an admin of the room can do this, or it does not fit the member list.
room-typing = { $names } typing…
room-mention = Mention a member
room-timer = Disappearing messages
room-rename = Rename
room-add = Add a member
room-add-pick = Choose a contact
room-promote = Make admin
room-notice-timer-off = { $by } turned disappearing messages off
room-notice-timer = { $by } set messages to disappear after { $time }
room-notice-devices = { $name }’s devices changed
