//! The packages Kovan knows how to ask an interpreter for and how to install: one table, read by
//! the probe (what to look for) and by the dependency check (what to ask the user to install).

/// A package Kovan knows: how it is imported, the distributions that provide it, and the
/// requirement Kovan installs when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    pub import: &'static str,
    pub dists: &'static [&'static str],
    pub requirement: &'static str,
}

pub const PACKAGES: &[Package] = &[
    Package {
        import: "django",
        dists: &["Django"],
        requirement: "Django>=4.2",
    },
    Package {
        import: "redis",
        dists: &["redis"],
        requirement: "redis>=5",
    },
    Package {
        import: "channels",
        dists: &["channels"],
        requirement: "channels>=4",
    },
    Package {
        import: "channels_redis",
        dists: &["channels-redis", "channels_redis"],
        requirement: "channels-redis>=4",
    },
    Package {
        import: "daphne",
        dists: &["daphne"],
        requirement: "daphne>=4",
    },
    Package {
        import: "uvicorn",
        dists: &["uvicorn"],
        requirement: "uvicorn>=0.20",
    },
    Package {
        import: "psycopg",
        dists: &["psycopg"],
        requirement: "psycopg[binary]>=3.1",
    },
    Package {
        import: "psycopg2",
        dists: &["psycopg2", "psycopg2-binary"],
        requirement: "psycopg2-binary>=2.9",
    },
    Package {
        import: "environ",
        dists: &["django-environ"],
        requirement: "django-environ>=0.11",
    },
    Package {
        import: "celery",
        dists: &["celery"],
        requirement: "celery>=5.3",
    },
    Package {
        import: "django_redis",
        dists: &["django-redis"],
        requirement: "django-redis>=5.4",
    },
    Package {
        import: "uvicorn",
        dists: &["uvicorn"],
        requirement: "uvicorn",
    },
    Package {
        import: "gunicorn",
        dists: &["gunicorn"],
        requirement: "gunicorn",
    },
];
