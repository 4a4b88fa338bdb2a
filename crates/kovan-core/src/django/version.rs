//! Which Django versions Kovan supports, and the one table of what each version accepts in the
//! settings Kovan generates.
//!
//! Every row was checked against Django itself (its release notes and the source of the release
//! named): a generated settings module that uses a row's setting on an older Django fails at start
//! (`'transaction_mode' is an invalid keyword argument for Connection()` on SQLite before 5.1, a
//! `TypeError` from RedisCache with `socket_connect_timeout` before 4.0.5).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use ts_rs::TS;

/// A Django release: `5.2.19`; a pre-release (`6.0a1`, `5.1rc1`) counts as its final release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DjangoVersion {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

impl DjangoVersion {
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Whether settings that use `feature` work on this version.
    pub fn accepts(self, feature: Feature) -> bool {
        self >= feature.since()
    }

    /// Where this version stands against what Kovan supports.
    pub fn support(self) -> Support {
        if self < OLDEST_SUPPORTED {
            Support::TooOld
        } else if self.major > NEWEST_SUPPORTED_MAJOR {
            Support::Newer
        } else {
            Support::Supported
        }
    }

    /// `5.2`: the release series, as generated files name it (a patch release changes nothing
    /// in them, except where a row of [`FEATURES`] says so, and then their checks tell).
    pub fn series(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// `(5, 2, 19)`: the tuple the generated settings compare `django.VERSION[:3]` with.
    pub fn python_tuple(self) -> String {
        format!("({}, {}, {})", self.major, self.minor, self.patch)
    }
}

impl fmt::Display for DjangoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Django version (expected e.g. 5.2.19)")]
pub struct NotAVersion(pub String);

impl FromStr for DjangoVersion {
    type Err = NotAVersion;

    /// `5.2.19`, `4.2`, `6.0a1`, `5.1rc1`, `5.2.dev20250101`: the leading digits of each part.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || NotAVersion(text.to_string());
        let mut parts = text.trim().split('.');
        let mut number = |required: bool| -> Result<u16, NotAVersion> {
            match parts.next() {
                None if !required => Ok(0),
                None => Err(bad()),
                Some(part) => {
                    let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                    match digits.parse() {
                        Ok(n) => Ok(n),
                        // `dev20250101` after the minor: a development snapshot of that release.
                        Err(_) if !required => Ok(0),
                        Err(_) => Err(bad()),
                    }
                }
            }
        };
        Ok(Self {
            major: number(true)?,
            minor: number(true)?,
            patch: number(false)?,
        })
    }
}

/// The oldest Django Kovan generates settings for: the first with the built-in RedisCache.
pub const OLDEST_SUPPORTED: DjangoVersion = DjangoVersion::new(4, 0, 0);
/// Kovan knows Django up to 6.x; a newer major release gets 6.x's settings and a warning.
pub const NEWEST_SUPPORTED_MAJOR: u16 = 6;
/// Django 6.0 needs Python 3.12 or newer (its release notes); older Pythons cannot run it.
pub const PYTHON_FOR_DJANGO_6: (u16, u16) = (3, 12);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Support {
    Supported,
    /// Before 4.0: refused, with the upgrade command.
    TooOld,
    /// After 6.x: run with the newest settings Kovan knows, and said so.
    Newer,
}

/// A setting or option the generated settings (or Kovan's Django app) may use, which not every
/// supported Django accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Feature {
    /// `django.core.cache.backends.redis.RedisCache`.
    RedisCache,
    /// RedisCache hands every OPTIONS entry to redis-py's connection pool, so
    /// `socket_connect_timeout` can be set; before, OPTIONS other than the client's own four raise
    /// `TypeError` on first use.
    RedisCachePoolOptions,
    /// `CONN_HEALTH_CHECKS` in a DATABASES entry.
    ConnHealthChecks,
    /// The `STORAGES` setting (replacing DEFAULT_FILE_STORAGE and STATICFILES_STORAGE).
    Storages,
    /// SQLite `OPTIONS["transaction_mode"]` (`"IMMEDIATE"`: take the write lock when a transaction
    /// starts, so a concurrent writer waits for the timeout instead of failing at once).
    SqliteTransactionMode,
    /// SQLite `OPTIONS["init_command"]` (PRAGMAs run on every new connection).
    SqliteInitCommand,
    /// PostgreSQL `OPTIONS["pool"]`: psycopg 3's connection pool (psycopg_pool).
    PostgresPool,
    /// `LoginRequiredMiddleware`; views it must let through carry `login_not_required`.
    LoginRequiredMiddleware,
}

/// One row of [`FEATURES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureRow {
    pub feature: Feature,
    /// The first release that accepts it.
    pub since: DjangoVersion,
    /// What it is, as the generated settings and messages name it.
    pub what: &'static str,
    /// Where Django says so.
    pub source: &'static str,
}

/// What each Django version accepts: the only place Kovan decides by version.
pub const FEATURES: &[FeatureRow] = &[
    FeatureRow {
        feature: Feature::RedisCache,
        since: DjangoVersion::new(4, 0, 0),
        what: "django.core.cache.backends.redis.RedisCache",
        source: "Django 4.0 release notes, \"Redis cache backend\"",
    },
    FeatureRow {
        feature: Feature::RedisCachePoolOptions,
        since: DjangoVersion::new(4, 0, 5),
        what: "RedisCache OPTIONS socket_connect_timeout",
        source: "Django 4.0.5 release notes: not all OPTIONS were passed to a Redis client (ticket 33681)",
    },
    FeatureRow {
        feature: Feature::ConnHealthChecks,
        since: DjangoVersion::new(4, 1, 0),
        what: "DATABASES CONN_HEALTH_CHECKS",
        source: "Django 4.1 release notes, Models: the new CONN_HEALTH_CHECKS setting",
    },
    FeatureRow {
        feature: Feature::Storages,
        since: DjangoVersion::new(4, 2, 0),
        what: "STORAGES",
        source: "Django 4.2 release notes, \"Custom file storages\"",
    },
    FeatureRow {
        feature: Feature::SqliteTransactionMode,
        since: DjangoVersion::new(5, 1, 0),
        what: "SQLite OPTIONS transaction_mode",
        source: "Django 5.1 release notes, Database backends: transaction_mode for SQLite",
    },
    FeatureRow {
        feature: Feature::SqliteInitCommand,
        since: DjangoVersion::new(5, 1, 0),
        what: "SQLite OPTIONS init_command",
        source: "Django 5.1 release notes, Database backends: init_command for SQLite",
    },
    FeatureRow {
        feature: Feature::PostgresPool,
        since: DjangoVersion::new(5, 1, 0),
        what: "PostgreSQL OPTIONS pool (psycopg 3)",
        source: "Django 5.1 release notes, \"PostgreSQL Connection Pools\"",
    },
    FeatureRow {
        feature: Feature::LoginRequiredMiddleware,
        since: DjangoVersion::new(5, 1, 0),
        what: "LoginRequiredMiddleware and login_not_required",
        source: "Django 5.1 release notes, \"Middleware to require authentication by default\"",
    },
];

impl Feature {
    fn row(self) -> &'static FeatureRow {
        FEATURES
            .iter()
            .find(|r| r.feature == self)
            .expect("every feature has a row")
    }

    pub fn since(self) -> DjangoVersion {
        self.row().since
    }

    pub fn what(self) -> &'static str {
        self.row().what
    }
}

/// The features a rendering of the settings wants, split by what the target Django accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureChoice {
    /// The Django the settings are rendered for; None when it could not be found out, and then
    /// they are rendered for [`OLDEST_SUPPORTED`], which every supported Django runs.
    pub target: Option<DjangoVersion>,
    /// Used: the target accepts them.
    pub used: Vec<Feature>,
    /// Wanted but left out: the target is too old for them.
    pub left_out: Vec<Feature>,
}

impl FeatureChoice {
    pub fn new(target: Option<DjangoVersion>, wanted: &[Feature]) -> Self {
        let version = target.unwrap_or(OLDEST_SUPPORTED);
        let (used, left_out) = wanted.iter().partition(|f| version.accepts(**f));
        Self {
            target,
            used,
            left_out,
        }
    }

    pub fn uses(&self, feature: Feature) -> bool {
        self.used.contains(&feature)
    }

    /// The oldest Django the rendered settings run on.
    pub fn needs(&self) -> DjangoVersion {
        self.used
            .iter()
            .map(|f| f.since())
            .max()
            .unwrap_or(OLDEST_SUPPORTED)
            .max(OLDEST_SUPPORTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> DjangoVersion {
        text.parse().unwrap()
    }

    #[test]
    fn versions_parse_as_django_prints_them() {
        assert_eq!(v("5.2.19"), DjangoVersion::new(5, 2, 19));
        assert_eq!(v("4.2"), DjangoVersion::new(4, 2, 0));
        assert_eq!(v("6.0a1"), DjangoVersion::new(6, 0, 0));
        assert_eq!(v("5.1rc1"), DjangoVersion::new(5, 1, 0));
        assert_eq!(v("5.2.dev20250101"), DjangoVersion::new(5, 2, 0));
        assert_eq!(v(" 4.0.10\n"), DjangoVersion::new(4, 0, 10));
        for bad in ["", "five", "5", ".2", "a.b.c"] {
            assert!(bad.parse::<DjangoVersion>().is_err(), "{bad:?}");
        }
        assert!(v("4.0.10") > v("4.0.5") && v("4.10") > v("4.2"));
    }

    #[test]
    fn the_supported_range_is_4_0_through_6_x() {
        assert_eq!(v("3.2.25").support(), Support::TooOld);
        assert_eq!(v("3.99.99").support(), Support::TooOld);
        for ok in ["4.0", "4.2.30", "5.1.15", "5.2.19", "6.0", "6.2.3"] {
            assert_eq!(v(ok).support(), Support::Supported, "{ok}");
        }
        assert_eq!(v("7.0").support(), Support::Newer);
    }

    #[test]
    fn each_row_draws_its_line_where_django_does() {
        let cases = [
            (Feature::RedisCache, "3.2.25", "4.0"),
            (Feature::RedisCachePoolOptions, "4.0.4", "4.0.5"),
            (Feature::ConnHealthChecks, "4.0.10", "4.1"),
            (Feature::Storages, "4.1.13", "4.2"),
            (Feature::SqliteTransactionMode, "5.0.14", "5.1"),
            (Feature::SqliteInitCommand, "5.0.14", "5.1"),
            (Feature::PostgresPool, "5.0.14", "5.1"),
            (Feature::LoginRequiredMiddleware, "5.0.14", "5.1"),
        ];
        for (feature, last_without, first_with) in cases {
            assert!(
                !v(last_without).accepts(feature),
                "{feature:?} on {last_without}"
            );
            assert!(
                v(first_with).accepts(feature),
                "{feature:?} on {first_with}"
            );
            // Django 6.x keeps all of them.
            assert!(v("6.0").accepts(feature) && v("6.2.1").accepts(feature));
        }
        assert_eq!(FEATURES.len(), cases.len(), "every row is tested");
    }

    #[test]
    fn a_choice_uses_what_the_target_accepts_and_names_the_rest() {
        let wanted = [
            Feature::RedisCachePoolOptions,
            Feature::SqliteTransactionMode,
        ];
        let on_42 = FeatureChoice::new(Some(v("4.2.30")), &wanted);
        assert_eq!(on_42.used, [Feature::RedisCachePoolOptions]);
        assert_eq!(on_42.left_out, [Feature::SqliteTransactionMode]);
        assert_eq!(on_42.needs(), v("4.0.5"));
        let on_52 = FeatureChoice::new(Some(v("5.2.19")), &wanted);
        assert!(on_52.left_out.is_empty() && on_52.needs() == v("5.1"));
        let on_60 = FeatureChoice::new(Some(v("6.0")), &wanted);
        assert_eq!(on_60.used, on_52.used);
        // Unknown: what every supported Django runs.
        let unknown = FeatureChoice::new(None, &wanted);
        assert!(unknown.used.is_empty() && unknown.needs() == OLDEST_SUPPORTED);
        let on_40 = FeatureChoice::new(Some(v("4.0.0")), &wanted);
        assert!(on_40.used.is_empty(), "{on_40:?}");
    }
}
