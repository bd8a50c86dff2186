//! Registers one device on a relay (open registration) and prints its bearer
//! token. `make test` hands it to schemathesis, so the API fuzzer reaches the
//! handlers behind the token rather than only their 401.
//!
//! cargo run -p parley-loadgen --example api_token -- http://127.0.0.1:8080

use std::process::ExitCode;

#[allow(clippy::print_stdout)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: api_token RELAY_ORIGIN");
        return ExitCode::from(2);
    };
    let url = url.trim_end_matches('/');
    match parley_loadgen::register(&reqwest::Client::new(), url).await {
        Ok((_, token)) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("api_token: {e}");
            ExitCode::FAILURE
        }
    }
}
