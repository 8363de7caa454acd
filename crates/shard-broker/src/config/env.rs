//! Settings from environment variables.
//!
//! Every `broker.toml` key can be set by a variable named [`PREFIX`] + the key upper-cased with
//! `.` and `-` replaced by `_`: `listeners` -> `SHARD_LISTENERS`, `log.flush.mode` ->
//! `SHARD_LOG_FLUSH_MODE`. A variable overrides the file, which overrides the defaults.
//!
//! The set of keys and their types come from the serialized [`BrokerConfig::default`], i.e.
//! from the same serde names the file is read with.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{BrokerConfig, ConfigError};

/// Prefix of the environment variables that set broker settings.
pub const PREFIX: &str = "SHARD_";

/// The environment variable that sets `key`: `log.flush.mode` -> `SHARD_LOG_FLUSH_MODE`.
pub fn var_name(key: &str) -> String {
    let mut name = String::with_capacity(PREFIX.len() + key.len());
    name.push_str(PREFIX);
    name.extend(key.chars().map(|c| match c {
        '.' | '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

/// Every setting's key with its default value (whose type is the type the key takes).
pub(super) fn defaults() -> toml::Table {
    match toml::Value::try_from(BrokerConfig::default()) {
        Ok(toml::Value::Table(table)) => table,
        // Not input-driven: the defaults are fixed, and a unit test serializes them.
        other => panic!("the default broker config does not serialize to a table: {other:?}"),
    }
}

/// What the environment contributed to a configuration.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EnvSettings {
    /// `(variable, key)` of each setting taken from the environment, ordered by key.
    pub applied: Vec<(String, String)>,
    /// `SHARD_*` variables that name no setting, sorted.
    pub unknown: Vec<String>,
}

impl EnvSettings {
    /// The variable that set `key`, if one did.
    pub fn var_for(&self, key: &str) -> Option<&str> {
        self.applied.iter().find(|(_, k)| k == key).map(|(var, _)| var.as_str())
    }
}

/// Overlays the `SHARD_*` variables among `env` on `flat` (the flattened file), replacing the
/// file's values. Variables without the prefix are ignored; prefixed ones naming no key are
/// returned in [`EnvSettings::unknown`]. A value that does not have its key's type (or is not
/// one of its values, for an enumeration) is refused with an error naming the key and the
/// variable; ranges are checked later, with the whole configuration.
pub fn overlay(
    flat: &mut BTreeMap<String, toml::Value>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<EnvSettings, ConfigError> {
    let defaults = defaults();
    let by_var: BTreeMap<String, (&String, &toml::Value)> = defaults.iter().map(|(key, value)| (var_name(key), (key, value))).collect();
    let mut settings = EnvSettings::default();
    // Sorted by variable name so the result does not depend on the environment's order.
    let env: BTreeMap<String, String> = env.into_iter().filter(|(name, _)| name.starts_with(PREFIX)).collect();
    for (var, raw) in env {
        let Some(&(key, default)) = by_var.get(&var) else {
            settings.unknown.push(var);
            continue;
        };
        let value = typed(&raw, default);
        check_type(key, value.clone()).map_err(|reason| ConfigError::EnvValue {
            key: key.clone(),
            var: var.clone(),
            reason,
        })?;
        flat.insert(key.clone(), value);
        settings.applied.push((var, key.clone()));
    }
    settings.applied.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(settings)
}

/// `raw` as a value of the type of `default` where it parses as one, else as a string (which
/// the type check then refuses for a non-string key).
fn typed(raw: &str, default: &toml::Value) -> toml::Value {
    let trimmed = raw.trim();
    let parsed = match default {
        toml::Value::Integer(_) => trimmed.parse::<i64>().ok().map(toml::Value::Integer),
        toml::Value::Float(_) => trimmed.parse::<f64>().ok().map(toml::Value::Float),
        toml::Value::Boolean(_) => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Some(toml::Value::Boolean(true)),
            "false" => Some(toml::Value::Boolean(false)),
            _ => None,
        },
        _ => None,
    };
    parsed.unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// Whether `value` deserializes as `key`'s field (type and enumeration values; not ranges).
fn check_type(key: &str, value: toml::Value) -> Result<(), String> {
    let mut table = toml::Table::new();
    table.insert(key.to_string(), value);
    BrokerConfig::deserialize(toml::Value::Table(table))
        .map(|_| ())
        .map_err(|e| e.message().to_string())
}

/// The process environment as `(name, value)` pairs, for [`BrokerConfig::load_with_env`].
/// Variables whose name or value is not UTF-8 are skipped (with a warning for `SHARD_*` ones)
/// instead of panicking as [`std::env::vars`] would.
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => Some((name, value)),
            (Ok(name), Err(_)) if name.starts_with(PREFIX) => {
                tracing::warn!("environment variable {name} ignored: its value is not UTF-8");
                None
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load(file: &str, pairs: &[(&str, &str)]) -> Result<BrokerConfig, ConfigError> {
        BrokerConfig::parse_with_env(file, env(pairs)).map(|(config, _)| config)
    }

    #[test]
    fn names_follow_the_rule() {
        assert_eq!(var_name("listeners"), "SHARD_LISTENERS");
        assert_eq!(var_name("advertised.listeners"), "SHARD_ADVERTISED_LISTENERS");
        assert_eq!(var_name("log.flush.mode"), "SHARD_LOG_FLUSH_MODE");
        assert_eq!(
            var_name("group.share.record.lock.duration.ms"),
            "SHARD_GROUP_SHARE_RECORD_LOCK_DURATION_MS"
        );
        assert_eq!(var_name("a-b.c"), "SHARD_A_B_C");
    }

    #[test]
    fn every_key_has_its_own_variable_and_matches_describe_configs() {
        let defaults = defaults();
        let keys: BTreeSet<&str> = defaults.keys().map(String::as_str).collect();
        let described: BTreeSet<&str> = BrokerConfig::default().entries().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, described);
        let vars: BTreeSet<String> = keys.iter().map(|k| var_name(k)).collect();
        assert_eq!(vars.len(), keys.len(), "two keys map to the same variable");
    }

    #[test]
    fn environment_overrides_file_and_defaults() {
        let file = "listeners = \"127.0.0.1:9000\"\nnum.partitions = 3\nlog.dir = \"/from/file\"";
        let (c, settings) = BrokerConfig::parse_with_env(
            file,
            env(&[
                ("SHARD_LISTENERS", "0.0.0.0:9092"),
                ("SHARD_ADVERTISED_LISTENERS", "PLAINTEXT://broker.example:19092"),
                ("SHARD_NUM_PARTITIONS", " 6 "),
                ("SHARD_AUTO_CREATE_TOPICS_ENABLE", "FALSE"),
                ("SHARD_LOG_FLUSH_MODE", "page_cache"),
                ("SHARD_GROUP_SHARE_RECORD_LOCK_DURATION_MS", "20000"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .expect("config");
        assert_eq!(c.listen_addr(), "0.0.0.0:9092".parse().expect("addr"));
        assert_eq!(c.advertised_listeners, "PLAINTEXT://broker.example:19092");
        assert_eq!(c.num_partitions, 6);
        assert!(!c.auto_create_topics_enable);
        assert_eq!(c.log_flush_mode, super::super::FlushPolicy::PageCache);
        assert_eq!(c.group_share_record_lock_duration_ms, 20000);
        // Untouched file value and untouched default.
        assert_eq!(c.log_dir, std::path::PathBuf::from("/from/file"));
        assert_eq!(c.node_id, 1);
        assert_eq!(settings.var_for("num.partitions"), Some("SHARD_NUM_PARTITIONS"));
        assert_eq!(settings.applied.len(), 6);
        assert!(settings.unknown.is_empty());
        // Settings from the environment count as explicitly set (DescribeConfigs: static).
        assert!(c.explicit_keys.iter().any(|k| k == "advertised.listeners"));
    }

    #[test]
    fn environment_works_without_a_file() {
        let c = load("", &[("SHARD_LOG_DIR", "/var/lib/shard")]).expect("config");
        assert_eq!(c.log_dir, std::path::PathBuf::from("/var/lib/shard"));
        assert_eq!(c.listen_addr(), "127.0.0.1:9092".parse().expect("addr"));
    }

    #[test]
    fn string_keys_keep_the_text_as_is() {
        // A numeric-looking value for a string key stays a string.
        let c = load("", &[("SHARD_LOG_DIR", "123")]).expect("config");
        assert_eq!(c.log_dir, std::path::PathBuf::from("123"));
        let c = load("", &[("SHARD_ADVERTISED_LISTENERS", "")]).expect("empty = same as listeners");
        assert_eq!(c.advertised_listeners, "");
    }

    #[test]
    fn wrong_type_names_key_and_variable() {
        let e = load("", &[("SHARD_NUM_PARTITIONS", "many")]).expect_err("not an integer");
        let text = e.to_string();
        assert!(text.contains("`num.partitions`") && text.contains("SHARD_NUM_PARTITIONS"), "{text}");
        assert!(text.contains("many"), "{text}");
        let e = load("", &[("SHARD_AUTO_CREATE_TOPICS_ENABLE", "yes")]).expect_err("not a bool");
        assert!(e.to_string().contains("SHARD_AUTO_CREATE_TOPICS_ENABLE"), "{e}");
        let e = load("", &[("SHARD_LOG_FLUSH_MODE", "sometimes")]).expect_err("not a mode");
        let text = e.to_string();
        assert!(text.contains("SHARD_LOG_FLUSH_MODE") && text.contains("sometimes"), "{text}");
        let e = load("", &[("SHARD_SOCKET_REQUEST_MAX_BYTES", "-1")]).expect_err("negative u32");
        assert!(e.to_string().contains("SHARD_SOCKET_REQUEST_MAX_BYTES"), "{e}");
    }

    #[test]
    fn out_of_range_names_key_and_variable() {
        let e = load("", &[("SHARD_NUM_PARTITIONS", "0")]).expect_err("range");
        let text = e.to_string();
        assert!(text.contains("`num.partitions`") && text.contains("SHARD_NUM_PARTITIONS"), "{text}");
        let e = load("", &[("SHARD_LISTENERS", "nowhere")]).expect_err("listener");
        assert!(e.to_string().contains("SHARD_LISTENERS"), "{e}");
        // A bound set in the environment that makes another key's (default) value invalid.
        let e = load("", &[("SHARD_GROUP_SHARE_MIN_RECORD_LOCK_DURATION_MS", "30000")]);
        assert!(e.is_ok(), "{e:?}");
        let e = load("", &[("SHARD_GROUP_SHARE_MAX_RECORD_LOCK_DURATION_MS", "30000")]);
        assert!(e.is_ok(), "{e:?}");
        let e = load(
            "group.share.record.lock.duration.ms = 25000",
            &[("SHARD_GROUP_SHARE_MIN_RECORD_LOCK_DURATION_MS", "28000")],
        )
        .expect_err("file value below the bound from the environment");
        assert!(e.to_string().contains("SHARD_GROUP_SHARE_MIN_RECORD_LOCK_DURATION_MS"), "{e}");
        // A file error does not blame the environment.
        let e = load("num.partitions = 0", &[("SHARD_NODE_ID", "2")]).expect_err("file range");
        assert!(!e.to_string().contains("SHARD_"), "{e}");
    }

    #[test]
    fn unknown_prefixed_variables_are_reported_not_fatal() {
        let (c, settings) = BrokerConfig::parse_with_env(
            "",
            env(&[
                ("SHARD_BROKER_BIN", "/x/shard-broker"),
                ("SHARD_LOG_RETENTION_MINUTES", "5"),
                ("HOME", "/root"),
                ("SHARD_NODE_ID", "7"),
            ]),
        )
        .expect("config");
        assert_eq!(c.node_id, 7);
        assert_eq!(settings.unknown, vec!["SHARD_BROKER_BIN", "SHARD_LOG_RETENTION_MINUTES"]);
        assert_eq!(settings.applied, vec![("SHARD_NODE_ID".to_string(), "node.id".to_string())]);
    }
}
