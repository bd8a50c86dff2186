//! `parley-relay` command line: `serve` (default) and `migrate`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use parley_relay::config::{Config, ProcessEnv};
use parley_relay::{server, telemetry};

/// Parley relay. All settings come from environment variables (see .env.example).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and the PWA (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage invite codes (for PARLEY_REGISTRATION=invite).
    Invite {
        #[command(subcommand)]
        action: InviteAction,
    },
}

#[derive(Debug, Subcommand)]
enum InviteAction {
    /// Create a single-use invite code and print it.
    Create {
        /// Hours until the code expires.
        #[arg(long, default_value_t = 72)]
        ttl_hours: u32,
    },
}

/// Exit status for configuration and start-up errors.
const EXIT_CONFIG: u8 = 2;

fn fail(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("parley-relay: {err}");
    ExitCode::from(EXIT_CONFIG)
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = ProcessEnv::with_dotenv(std::path::Path::new(".env"));
    let config = match Config::from_env(&env) {
        Ok(c) => c,
        Err(e) => return fail(format_args!("configuration error: {e}")),
    };
    telemetry::init_logging(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let applied = server::connect_store(&config).and_then(|s| server::migrate(&s));
            match applied {
                Ok(names) if names.is_empty() => println!("database is up to date"),
                Ok(names) => names.iter().for_each(|n| println!("applied {n}")),
                Err(e) => return fail(e),
            }
            ExitCode::SUCCESS
        }
        Command::Invite {
            action: InviteAction::Create { ttl_hours },
        } => match server::connect_store(&config)
            .and_then(|s| server::migrate(&s).map(|_| s))
            .and_then(|s| server::create_invite(&s, ttl_hours))
        {
            Ok(code) => {
                println!("{code}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Serve => match actix_web::rt::System::new().block_on(server::serve(config)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
    }
}
