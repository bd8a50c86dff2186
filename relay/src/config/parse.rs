//! Reading one variable: numbers with their bounds, required values.

use super::{ConfigError, Env};

/// The number in `var`, `default` when unset; an error below `min`.
pub(super) fn parse_num<T>(
    env: &dyn Env,
    var: &'static str,
    default: T,
    min: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match env.get(var) {
        None => Ok(default),
        Some(raw) => {
            let v: T = raw
                .trim()
                .parse()
                .map_err(|_| ConfigError::new(var, format!("{raw:?} is not a number")))?;
            if v < min {
                return Err(ConfigError::new(var, format!("must be at least {min}")));
            }
            Ok(v)
        }
    }
}

/// [`parse_num`] with an upper bound too (deadlines and thread counts).
pub(super) fn bounded<T>(
    env: &dyn Env,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let v = parse_num(env, var, default, min)?;
    if v > max {
        return Err(ConfigError::new(var, format!("must be at most {max}")));
    }
    Ok(v)
}

/// The value of `var`, which must be set (`why` says when).
pub(super) fn required(env: &dyn Env, var: &'static str, why: &str) -> Result<String, ConfigError> {
    env.get(var)
        .ok_or_else(|| ConfigError::new(var, format!("must be set {why}")))
}
