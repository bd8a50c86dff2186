//! Sends registration codes: to the log in development, by SMTP otherwise.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::config::{Config, ConfigError, Mailer as MailerConfig};

/// A ready mailer.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Writes codes to the log (development).
    Log,
    /// SMTP through lettre.
    Smtp {
        /// Pooled transport.
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// Sender.
        from: Mailbox,
    },
}

impl Mailer {
    /// Builds the mailer from the configuration.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        match &config.mailer {
            MailerConfig::Log => Ok(Self::Log),
            MailerConfig::Smtp(url) => Ok(Self::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| ConfigError::new("PARLEY_SMTP_URL", e.to_string()))?
                    .build(),
                from: config.mail_from.parse().map_err(|e| {
                    ConfigError::new("PARLEY_SMTP_FROM", format!("not an address: {e}"))
                })?,
            }),
        }
    }

    /// Sends a registration code.
    pub async fn send_code(&self, to: &str, code: &str) -> Result<(), String> {
        match self {
            Self::Log => {
                // Development only; at debug so a production log level never
                // records addresses and codes even if "log" is left set.
                tracing::debug!(
                    to,
                    code,
                    "registration code (development mailer: PARLEY_SMTP_URL=log)"
                );
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse().map_err(|e| format!("bad address: {e}"))?)
                    .subject("Your Parley registration code")
                    .body(format!(
                        "Your Parley registration code is {code}\n\nIt is valid for 10 minutes. If you did not ask for it, ignore this mail.\n"
                    ))
                    .map_err(|e| e.to_string())?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}
