//! kovan.toml: every bad input gets an error naming the file, the field and the fix.

use std::path::{Path, PathBuf};

use kovan_core::workspace::{self, CacheBackend, DatabaseEngine, Role};
use kovan_core::{Problem, WorkspaceError};

const HEADER: &str = r#"
[project]
name = "context7"
settings = "dashboard_project.settings"

[redis]
url = "redis://127.0.0.1:6379/0"
"#;

struct Fixture {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

fn project_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    dir
}

fn fixture(toml: &str) -> Fixture {
    let dir = project_dir();
    let file = dir.path().join("kovan.toml");
    std::fs::write(&file, toml).unwrap();
    Fixture { _dir: dir, file }
}

fn instance(name: &str, port: i64) -> String {
    format!("\n[[instance]]\nname = \"{name}\"\nport = {port}\n")
}

fn load(toml: &str) -> Result<workspace::Workspace, WorkspaceError> {
    let f = fixture(toml);
    workspace::load(&f.file)
}

/// The problems of an invalid file, after checking the error names the file and every problem a fix.
fn problems(toml: &str) -> Vec<Problem> {
    let f = fixture(toml);
    let err = workspace::load(&f.file).expect_err("the file should be invalid");
    let text = err.to_string();
    assert!(
        text.contains(&f.file.display().to_string()),
        "error names the file: {text}"
    );
    let WorkspaceError::Invalid { problems, .. } = err else {
        panic!("not Invalid: {text}")
    };
    for p in &problems {
        assert!(!p.field.is_empty() && !p.fix.is_empty(), "{p:?}");
    }
    problems
}

/// The one problem of an invalid file, which must be about `field` and mention `needle`.
fn one_problem(toml: &str, field: &str, needle: &str) -> Problem {
    let found = problems(toml);
    assert_eq!(found.len(), 1, "{found:#?}");
    let p = found.into_iter().next().unwrap();
    assert_eq!(p.field, field, "{p:#?}");
    assert!(
        p.message.contains(needle),
        "message {:?} should contain {needle:?}",
        p.message
    );
    p
}

#[test]
fn the_example_workspace_loads_and_derives_every_name() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/context7");
    let ws = workspace::load(&example).expect("examples/context7/kovan.toml is valid");
    assert_eq!(ws.project.name, "context7");
    assert!(ws.file.ends_with("examples/context7/kovan.toml"));
    let ports: Vec<u16> = ws.instances.iter().map(|i| i.port).collect();
    assert_eq!(ports, [8000, 8001, 8002, 8003]);
    let main = ws.instance("chat_main").unwrap();
    assert_eq!(main.role, Role::Main);
    assert_eq!(main.cache, CacheBackend::Redis);
    // The site's: shared by chat_main, chat_api and chat_websocket.
    assert_eq!(main.site.as_deref(), Some("chat"));
    assert_eq!(main.names.database, "db_chat.sqlite3");
    assert_eq!(main.names.session_cookie, "sessionid_chat");
    assert_eq!(main.names.csrf_cookie, "csrftoken_chat");
    assert_eq!(main.names.media_root, "media_chat");
    assert_eq!(main.names.channel_prefix, "context7_chat");
    // Its own:
    assert_eq!(main.names.cache_prefix, "context7_chat_main");
    assert_eq!(main.names.static_root, "staticfiles_chat_main");
    let review = ws.instance("review").unwrap();
    assert_eq!(review.site, None);
    assert_eq!(review.names.database, "db_review.sqlite3");
    assert_eq!(review.names.session_cookie, "sessionid_review");
    let site = ws.site("chat").unwrap();
    assert_eq!(site.instances, ["chat_main", "chat_api", "chat_websocket"]);
    assert_eq!(site.front_door, 8080);
    assert_eq!(main.names.env_file, ".env.chat_main");
    assert_eq!(main.names.log_file, "logs/chat_main.log");
    let presets: Vec<(&str, Vec<&str>)> = ws
        .presets
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.instances.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(presets, [("dev", vec!["chat_main", "chat_api"])]);
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let ws = load(&format!("{HEADER}{}", instance("solo", 9000))).unwrap();
    let solo = &ws.instances[0];
    assert_eq!(
        (solo.role, solo.cache, solo.cache_timeout, solo.weight),
        (Role::Main, CacheBackend::Redis, 300, 1)
    );
    assert_eq!(ws.database, DatabaseEngine::Sqlite);
    assert_eq!(ws.project.django_root, ws.file.parent().unwrap());
}

#[test]
fn postgresql_databases_are_named_after_project_and_instance() {
    let ws = load(&format!(
        "{HEADER}\n[database]\nengine = \"postgresql\"\n{}",
        instance("chat_api", 8001)
    ))
    .unwrap();
    assert_eq!(ws.instances[0].names.database, "context7_chat_api");
}

#[test]
fn overrides_replace_derived_names() {
    let ws = load(&format!(
        "{HEADER}{}session_cookie = \"legacy_session\"\ncache_prefix = \"legacy\"\ndatabase = \"data/legacy.sqlite3\"\n{}",
        instance("chat_main", 8000),
        instance("chat_api", 8001)
    ))
    .unwrap();
    let main = &ws.instances[0].names;
    assert_eq!(
        (main.session_cookie.as_str(), main.cache_prefix.as_str()),
        ("legacy_session", "legacy")
    );
    assert_eq!(main.database, "data/legacy.sqlite3");
    assert_eq!(main.csrf_cookie, "csrftoken_chat_main");
}

#[test]
fn unknown_keys_are_named_with_their_table_and_line() {
    let p = one_problem(
        &format!("{HEADER}{}prot = 8001\n", instance("chat_main", 8000)),
        "instance[1].prot",
        "unknown field `prot`",
    );
    assert_eq!(p.line, Some(12));
    assert!(
        p.message.contains("`port`"),
        "lists the allowed keys: {}",
        p.message
    );
    one_problem(
        &format!("{HEADER}colour = \"red\"\n{}", instance("a", 8000)),
        "redis.colour",
        "unknown field `colour`",
    );
    one_problem(
        &format!(
            "{HEADER}{}\n[preset.dev]\ninstances = [\"a\"]\nstart = true\n",
            instance("a", 8000)
        ),
        "preset.dev.start",
        "unknown field `start`",
    );
    one_problem(
        &format!("{HEADER}{}\n[extras]\nx = 1\n", instance("a", 8000)),
        "extras",
        "unknown field `extras`",
    );
}

#[test]
fn wrong_types_and_missing_keys_say_what_is_expected() {
    one_problem(
        &format!("{HEADER}\n[[instance]]\nname = \"a\"\nport = \"8000\"\n"),
        "instance[1].port",
        "invalid type",
    );
    one_problem(
        &format!("{HEADER}\n[[instance]]\nname = \"a\"\n"),
        "instance[1]",
        "missing field `port`",
    );
    one_problem(
        "[project]\nname = \"x\"\nsettings = \"s\"\n[[instance]\n",
        "kovan.toml",
        "",
    );
}

#[test]
fn bad_instance_names_are_refused_one_by_one() {
    let cases: &[(&str, &str)] = &[
        ("", "is empty"),
        ("Chat_main", "upper-case"),
        ("chat main", "space"),
        ("chat/main", "path separator"),
        ("..", "`..`"),
        ("chat..main", "`..`"),
        ("chat*", "glob character `*`"),
        ("chat?", "glob character `?`"),
        ("chat[1]", "glob character `[`"),
        ("chat]", "glob character `]`"),
        ("chat-main", "holds `-`"),
        ("1chat", "must start with a letter"),
        ("_chat", "must start with a letter"),
        (&"a".repeat(33), "33 characters long"),
    ];
    for (name, needle) in cases {
        let p = one_problem(
            &format!("{HEADER}{}", instance(name, 8000)),
            "instance[1].name",
            needle,
        );
        assert_eq!(p.line, Some(10), "{name:?}");
    }
    // 32 characters is the limit, not over it.
    load(&format!("{HEADER}{}", instance(&"a".repeat(32), 8000))).unwrap();
}

#[test]
fn a_bad_name_suggests_a_good_one() {
    let p = one_problem(
        &format!("{HEADER}{}", instance("Chat Main", 8000)),
        "instance[1].name",
        "space",
    );
    assert!(p.fix.contains("\"chat_main\""), "{}", p.fix);
}

#[test]
fn duplicate_names_are_refused() {
    one_problem(
        &format!(
            "{HEADER}{}{}",
            instance("chat_main", 8000),
            instance("chat_main", 8001)
        ),
        "instance.chat_main.name",
        "used twice (first at line 10)",
    );
}

#[test]
fn ports_must_be_unprivileged_tcp_ports_used_once() {
    for (port, needle) in [
        (80, "below 1024"),
        (0, "below 1024"),
        (-1, "below 1024"),
        (65536, "above 65535"),
        (70000, "above 65535"),
    ] {
        one_problem(
            &format!("{HEADER}{}", instance("a", port)),
            "instance.a.port",
            needle,
        );
    }
    load(&format!(
        "{HEADER}{}{}",
        instance("a", 1024),
        instance("b", 65535)
    ))
    .unwrap();
    one_problem(
        &format!("{HEADER}{}{}", instance("a", 8000), instance("b", 8000)),
        "instance.b.port",
        "port 8000 is already used by a",
    );
}

#[test]
fn roles_caches_and_numbers_are_checked() {
    one_problem(
        &format!("{HEADER}{}role = \"worker\"\n", instance("a", 8000)),
        "instance.a.role",
        "`worker` is not one of \"main\", \"api\", \"websocket\"",
    );
    one_problem(
        &format!("{HEADER}{}cache = \"memcached\"\n", instance("a", 8000)),
        "instance.a.cache",
        "`memcached`",
    );
    one_problem(
        &format!("{HEADER}{}weight = 0\n", instance("a", 8000)),
        "instance.a.weight",
        "out of range",
    );
    one_problem(
        &format!("{HEADER}{}cache_timeout = -5\n", instance("a", 8000)),
        "instance.a.cache_timeout",
        "out of range",
    );
}

#[test]
fn presets_must_name_known_instances() {
    let p = one_problem(
        &format!(
            "{HEADER}{}\n[preset.dev]\ninstances = [\"a\", \"chat_api\"]\n",
            instance("a", 8000)
        ),
        "preset.dev.instances",
        "`chat_api` is not an instance",
    );
    assert!(p.fix.contains("a"), "{}", p.fix);
    one_problem(
        &format!(
            "{HEADER}{}\n[preset.dev]\ninstances = []\n",
            instance("a", 8000)
        ),
        "preset.dev.instances",
        "names no instance",
    );
    one_problem(
        &format!(
            "{HEADER}{}\n[preset.dev]\ninstances = [\"a\", \"a\"]\n",
            instance("a", 8000)
        ),
        "preset.dev.instances",
        "listed twice",
    );
    one_problem(
        &format!(
            "{HEADER}{}\n[preset.Dev]\ninstances = [\"a\"]\n",
            instance("a", 8000)
        ),
        "preset.Dev",
        "upper-case",
    );
}

#[test]
fn two_instances_on_one_database_file_are_refused() {
    one_problem(
        &format!(
            "{HEADER}{}database = \"shared.sqlite3\"\n{}database = \"./shared.sqlite3\"\n",
            instance("a", 8000),
            instance("b", 8001)
        ),
        "instance.b.database",
        "`shared.sqlite3` is also the database of a",
    );
    // A derived name can collide with an override too.
    one_problem(
        &format!(
            "{HEADER}{}{}database = \"db_a.sqlite3\"\n",
            instance("a", 8000),
            instance("b", 8001)
        ),
        "instance.b.database",
        "also the database of a",
    );
}

#[test]
fn two_instances_with_one_cookie_name_are_refused() {
    let p = one_problem(
        &format!(
            "{HEADER}{}{}session_cookie = \"sessionid_a\"\n",
            instance("a", 8000),
            instance("b", 8001)
        ),
        "instance.b.session_cookie",
        "`sessionid_a` is also the session_cookie of a",
    );
    assert!(p.message.contains("ignore the port"), "{}", p.message);
    one_problem(
        &format!(
            "{HEADER}{}csrf_cookie = \"sessionid_b\"\n{}",
            instance("a", 8000),
            instance("b", 8001)
        ),
        "instance.b.session_cookie",
        "also the csrf_cookie of a",
    );
    one_problem(
        &format!(
            "{HEADER}{}session_cookie = \"bad;name\"\n",
            instance("a", 8000)
        ),
        "instance.a.session_cookie",
        "not a valid cookie name",
    );
}

#[test]
fn equal_cache_prefixes_are_refused() {
    one_problem(
        &format!(
            "{HEADER}{}cache_prefix = \"ctx\"\n{}cache_prefix = \"ctx\"\n",
            instance("a", 8000),
            instance("b", 8001)
        ),
        "instance.b.cache_prefix",
        "`ctx` is also the prefix of a",
    );
}

#[test]
fn a_cache_prefix_nested_in_another_at_a_colon_is_refused() {
    let p = one_problem(
        &format!(
            "{HEADER}{}cache_prefix = \"ctx:chat\"\n{}cache_prefix = \"ctx\"\n",
            instance("a", 8000),
            instance("b", 8001)
        ),
        "instance.b.cache_prefix",
        "`ctx:chat` of a starts with `ctx:`",
    );
    assert!(p.message.contains("clearing b"), "{}", p.message);
    // Sharing leading characters without the colon is fine: `ctx_chat:*` does not match `ctx:*`.
    load(&format!(
        "{HEADER}{}cache_prefix = \"ctx_chat\"\n{}cache_prefix = \"ctx\"\n",
        instance("a", 8000),
        instance("b", 8001)
    ))
    .unwrap();
}

#[test]
fn cache_locations_are_derived_per_backend() {
    let ws = load(&format!(
        "{HEADER}{}cache = \"locmem\"\n{}cache = \"file\"\n{}cache = \"db\"\n{}cache = \"dummy\"\n{}",
        instance("a", 8000),
        instance("b", 8001),
        instance("c", 8002),
        instance("d", 8003),
        instance("e", 8004)
    ))
    .unwrap();
    let locations: Vec<Option<&str>> = ws
        .instances
        .iter()
        .map(|i| i.names.cache_location.as_deref())
        .collect();
    assert_eq!(
        locations,
        [
            Some("context7_a"),
            Some("cache_b"),
            Some("kovan_cache_c"),
            None,
            None
        ]
    );
    one_problem(
        &format!("{HEADER}{}cache = \"file\"\ncache_location = \"shared\"\n{}cache = \"file\"\ncache_location = \"shared/\"\n", instance("a", 8000), instance("b", 8001)),
        "instance.b.cache_location",
        "`shared` is also the cache_location of a",
    );
    one_problem(
        &format!("{HEADER}{}cache_location = \"x\"\n", instance("a", 8000)),
        "instance.a.cache_location",
        "no per-instance location",
    );
    one_problem(
        &format!(
            "{HEADER}{}cache = \"db\"\ncache_location = \"my table\"\n",
            instance("a", 8000)
        ),
        "instance.a.cache_location",
        "not a table name",
    );
}

#[test]
fn override_paths_stay_inside_the_django_root() {
    one_problem(
        &format!(
            "{HEADER}{}log_file = \"../logs/a.log\"\n",
            instance("a", 8000)
        ),
        "instance.a.log_file",
        "leaves the Django root",
    );
    one_problem(
        &format!(
            "{HEADER}{}static_root = \"/var/www/static\"\n",
            instance("a", 8000)
        ),
        "instance.a.static_root",
        "is absolute",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let found = problems(&format!(
        "{HEADER}{}{}",
        instance("Bad", 80),
        instance("b", 8001)
    ));
    let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["instance[1].name", "instance[1].port"]);
}

#[test]
fn project_fields_are_checked() {
    let dir = project_dir();
    let file = dir.path().join("kovan.toml");
    std::fs::write(
        &file,
        format!(
            "[project]\nname = \"x\"\nsettings = \"not a module\"\ndjango_root = \"missing\"\n{}",
            instance("a", 8000).replace("port = 8000", "port = 8000\ncache = \"locmem\"")
        ),
    )
    .unwrap();
    let WorkspaceError::Invalid { problems, .. } = workspace::load(&file).unwrap_err() else {
        panic!()
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    // In the file's order.
    assert_eq!(fields, ["project.settings", "project.django_root"]);
    assert!(problems[1].message.contains("does not exist"));

    std::fs::remove_file(dir.path().join("manage.py")).unwrap();
    std::fs::write(
        &file,
        format!(
            "[project]\nname = \"x\"\nsettings = \"s\"\n{}cache = \"locmem\"\n",
            instance("a", 8000)
        ),
    )
    .unwrap();
    let err = workspace::load(&file).unwrap_err();
    assert!(err.to_string().contains("has no manage.py"), "{err}");
}

#[test]
fn redis_is_required_by_redis_caches_and_its_password_never_shown() {
    one_problem(
        &format!(
            "[project]\nname = \"x\"\nsettings = \"s\"\n{}",
            instance("a", 8000)
        ),
        "redis",
        "a use cache = \"redis\"",
    );
    let ws = load(&format!(
        "[project]\nname = \"x\"\nsettings = \"s\"\n[redis]\nurl = \"rediss://kovan:s3cr%40t@127.0.0.1:6380/2\"\n{}",
        instance("a", 8000)
    ))
    .unwrap();
    let redis = ws.redis.unwrap();
    assert_eq!(redis.redacted(), "rediss://kovan:***@127.0.0.1:6380/2");
    assert_eq!(redis.url().password(), Some("s3cr%40t"));

    for url in [
        "http://127.0.0.1:6379",
        "redis://:hunter2@127.0.0.1:6379/x",
        "redis://user:hunter2@[::1",
    ] {
        let found = problems(&format!(
            "[project]\nname = \"x\"\nsettings = \"s\"\n[redis]\nurl = \"{url}\"\n{}",
            instance("a", 8000)
        ));
        assert_eq!(found[0].field, "redis.url", "{found:#?}");
        assert!(
            !format!("{found:?}").contains("hunter2"),
            "password leaked: {found:#?}"
        );
    }
}

#[test]
fn redis_tls_files_and_verify_are_read_relative_to_kovan_toml_and_checked_at_load() {
    let head = "[project]\nname = \"x\"\nsettings = \"s\"\n[redis]\n";
    // Read: relative to kovan.toml's folder, made absolute.
    let f = fixture(&format!(
        "{head}url = \"rediss://127.0.0.1:6380/0\"\nca_file = \"ca.pem\"\ncert_file = \"c.pem\"\nkey_file = \"c.key\"\nverify = \"ca\"\n{}",
        instance("a", 8000)
    ));
    let folder = f.file.parent().unwrap();
    for name in ["ca.pem", "c.pem", "c.key"] {
        std::fs::write(folder.join(name), "pem").unwrap();
    }
    let tls = workspace::load(&f.file).unwrap().redis.unwrap().tls;
    assert_eq!(
        tls.ca_file.as_deref(),
        Some(folder.join("ca.pem").as_path())
    );
    assert_eq!(
        tls.key_file.as_deref(),
        Some(folder.join("c.key").as_path())
    );
    assert_eq!(tls.verify, workspace::TlsVerify::Ca);

    let cases = [
        // TLS keys with a plain URL.
        (
            "url = \"redis://127.0.0.1:6379/0\"\nverify = \"none\"\n",
            "redis.verify",
            "redis://",
        ),
        // A file that is not there.
        (
            "url = \"rediss://127.0.0.1:6380/0\"\nca_file = \"nowhere.pem\"\n",
            "redis.ca_file",
            "nowhere.pem",
        ),
        // Half a client certificate.
        (
            "url = \"rediss://127.0.0.1:6380/0\"\ncert_file = \"kovan.toml\"\n",
            "redis.key_file",
            "a client certificate needs both",
        ),
        // A word Kovan does not know.
        (
            "url = \"rediss://127.0.0.1:6380/0\"\nverify = \"loose\"\n",
            "redis.verify",
            "loose",
        ),
    ];
    for (lines, field, says) in cases {
        let found = problems(&format!("{head}{lines}{}", instance("a", 8000)));
        assert_eq!(found.len(), 1, "{lines}: {found:#?}");
        assert_eq!(found[0].field, field, "{found:#?}");
        assert!(found[0].message.contains(says), "{found:#?}");
        assert!(found[0].line.is_some(), "located: {found:#?}");
    }
}

#[test]
fn a_missing_file_says_where_it_looked_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let err = workspace::load(dir.path()).unwrap_err();
    assert!(matches!(err, WorkspaceError::NotFound { .. }));
    let text = err.to_string();
    assert!(
        text.contains(&dir.path().join("kovan.toml").display().to_string())
            && text.contains("--workspace"),
        "{text}"
    );
}

#[test]
fn the_workspace_is_found_by_flag_then_env_then_upwards() {
    let dir = project_dir();
    std::fs::write(dir.path().join("kovan.toml"), "").unwrap();
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    assert_eq!(
        workspace::find_upwards(&nested),
        Some(dir.path().join("kovan.toml"))
    );
    assert_eq!(workspace::named(None, Some("".into())), None);
    assert_eq!(
        workspace::named(None, Some(dir.path().into())),
        Some(dir.path().join("kovan.toml"))
    );
    let flag = dir.path().join("other.toml");
    assert_eq!(
        workspace::named(Some(&flag), Some(dir.path().into())),
        Some(flag)
    );
}

/// A missing `settings` does not hide the rest, and typos do not come one per run: every problem
/// of the file is said at once, in the file's order.
#[test]
fn every_problem_of_the_file_is_said_in_one_run() {
    let source = "[project]\nname = \"t\"\nsetings = \"t.settings\"\n\n[[instance]]\nname = \"a\"\nprot = 8000\nport = 99999\nrole = \"boss\"\ncolour = 1\ncache = \"locmem\"\n\n[preset.dev]\ninstance = [\"a\"]\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    let file = dir.path().join("kovan.toml");
    let Err(kovan_core::workspace::WorkspaceError::Invalid { problems, .. }) =
        kovan_core::workspace::parse(&file, source)
    else {
        panic!("the file is invalid");
    };
    let said: Vec<(Option<u32>, &str, &str)> = problems
        .iter()
        .map(|p| (p.line, p.field.as_str(), p.message.as_str()))
        .collect();
    let expect: &[(u32, &str, &str)] = &[
        (1, "project", "missing field `settings`"),
        (3, "project.setings", "(did you mean `settings`?)"),
        (7, "instance[1].prot", "(did you mean `port`?)"),
        (8, "instance.a.port", "port 99999 is above 65535"),
        (9, "instance.a.role", "`boss` is not one of"),
        (10, "instance[1].colour", "unknown field `colour`"),
        (13, "preset.dev", "missing field `instances`"),
        (14, "preset.dev.instance", "(did you mean `instances`?)"),
    ];
    assert_eq!(said.len(), expect.len(), "{said:#?}");
    for ((line, field, text), said) in expect.iter().zip(&said) {
        assert_eq!((Some(*line), *field), (said.0, said.1), "{said:#?}");
        assert!(said.2.contains(text), "{said:#?}");
    }
}

/// Wrong types do not come one per run either: each is said with its line, beside the unknown
/// and missing keys of the same file.
#[test]
fn every_wrong_type_is_said_in_one_run() {
    let source = "[project]\nname = \"t\"\nsettings = 3\n\n[redis]\nurl = \"redis://127.0.0.1:6379/0\"\nmanaged = \"yes\"\n\n[[instance]]\nname = \"a\"\nport = \"8000\"\nprot = 1\n\n[[instance]]\nname = \"b\"\nport = 8001\nmax_restarts = [1]\n\n[supervisor]\nstop_grace = \"5s\"\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manage.py"), "").unwrap();
    let file = dir.path().join("kovan.toml");
    let Err(kovan_core::workspace::WorkspaceError::Invalid { problems, .. }) =
        kovan_core::workspace::parse(&file, source)
    else {
        panic!("the file is invalid");
    };
    let said: Vec<(Option<u32>, &str, &str)> = problems
        .iter()
        .map(|p| (p.line, p.field.as_str(), p.message.as_str()))
        .collect();
    let expect: &[(u32, &str, &str)] = &[
        (
            3,
            "project.settings",
            "invalid type: integer `3`, expected a string",
        ),
        (
            7,
            "redis.managed",
            "invalid type: string \"yes\", expected a boolean",
        ),
        (
            11,
            "instance[1].port",
            "invalid type: string \"8000\", expected a whole number",
        ),
        (12, "instance[1].prot", "(did you mean `port`?)"),
        (
            17,
            "instance[2].max_restarts",
            "invalid type: list, expected a whole number",
        ),
        (
            20,
            "supervisor.stop_grace",
            "invalid type: string \"5s\", expected a whole number",
        ),
    ];
    assert_eq!(said.len(), expect.len(), "{said:#?}");
    for ((line, field, text), said) in expect.iter().zip(&said) {
        assert_eq!((Some(*line), *field), (said.0, said.1), "{said:#?}");
        assert!(said.2.contains(text), "{said:#?}");
    }
    // A key of the wrong kind where a table belongs is a type problem too.
    let Err(kovan_core::workspace::WorkspaceError::Invalid { problems, .. }) =
        kovan_core::workspace::parse(
            &file,
            "instance = 3\n[project]\nname = \"t\"\nsettings = \"s\"\n",
        )
    else {
        panic!("the file is invalid");
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].field, "instance");
    assert!(
        problems[0].message.starts_with("invalid type: integer `3`"),
        "{problems:#?}"
    );
}

fn member(name: &str, port: i64, role: &str) -> String {
    format!("\n[[instance]]\nname = \"{name}\"\nport = {port}\nrole = \"{role}\"\n")
}

const CHAT: &str = "\n[site.chat]\ninstances = [\"chat_main\", \"chat_api\", \"chat_websocket\"]\nfront_door = 8080\n";

#[test]
fn a_sites_members_share_the_units_names_and_keep_their_own() {
    let toml = format!(
        "{HEADER}{}{}{}{}{CHAT}",
        member("chat_main", 8000, "main"),
        member("chat_api", 8001, "api"),
        member("chat_websocket", 8002, "websocket"),
        member("review", 8003, "main"),
    );
    let ws = load(&toml).unwrap();
    let site = ws.site("chat").unwrap();
    assert_eq!(site.front_door, 8080);
    assert_eq!(site.instances, ["chat_main", "chat_api", "chat_websocket"]);
    let routes: Vec<(&str, Role)> = site
        .routes
        .iter()
        .map(|r| (r.prefix.as_str(), r.role))
        .collect();
    assert_eq!(
        routes,
        [
            ("/api/", Role::Api),
            ("/ws/", Role::Websocket),
            ("/", Role::Main)
        ]
    );
    for name in ["chat_main", "chat_api", "chat_websocket"] {
        let i = ws.instance(name).unwrap();
        assert_eq!(i.site.as_deref(), Some("chat"));
        let n = &i.names;
        assert_eq!(n.unit, "chat");
        assert_eq!(n.database, "db_chat.sqlite3");
        assert_eq!(n.session_cookie, "sessionid_chat");
        assert_eq!(n.csrf_cookie, "csrftoken_chat");
        assert_eq!(n.session_store, "db:db_chat.sqlite3");
        assert_eq!(n.media_root, "media_chat");
        assert_eq!(n.channel_prefix, "context7_chat");
        // Each member's own:
        assert_eq!(n.cache_prefix, format!("context7_{name}"));
        assert_eq!(n.static_root, format!("staticfiles_{name}"));
        assert_eq!(n.env_file, format!(".env.{name}"));
        assert_eq!(n.log_file, format!("logs/{name}.log"));
    }
    let review = ws.instance("review").unwrap();
    assert_eq!(review.site, None);
    assert_eq!(review.names.unit, "review");
    assert_eq!(review.names.database, "db_review.sqlite3");
    assert_eq!(review.names.session_cookie, "sessionid_review");
    assert_eq!(review.names.channel_prefix, "context7_review");
    assert_eq!(ws.unit_members("chat_api").len(), 3);
    assert_eq!(ws.unit_members("review").len(), 1);
}

#[test]
fn without_sites_every_instance_is_its_own_unit() {
    let ws = load(&format!(
        "{HEADER}{}{}",
        instance("a", 8000),
        instance("b", 8001)
    ))
    .unwrap();
    assert!(ws.sites.is_empty());
    for i in &ws.instances {
        assert_eq!(i.site, None);
        assert_eq!(i.names.unit, i.name);
        assert_eq!(i.names.database, format!("db_{}.sqlite3", i.name));
        assert_eq!(i.names.session_cookie, format!("sessionid_{}", i.name));
        assert_eq!(i.names.media_root, format!("media_{}", i.name));
    }
}

#[test]
fn site_routes_override_the_default_routing() {
    let toml = format!(
        "{HEADER}{}{}\n[site.shop]\ninstances = [\"web\", \"api\"]\nfront_door = 9000\nroutes = {{ \"/graphql/\" = \"api\", \"/api/\" = \"main\" }}\n",
        member("web", 8000, "main"),
        member("api", 8001, "api"),
    );
    let ws = load(&toml).unwrap();
    let routes: Vec<(&str, Role)> = ws.sites[0]
        .routes
        .iter()
        .map(|r| (r.prefix.as_str(), r.role))
        .collect();
    assert_eq!(
        routes,
        [
            ("/graphql/", Role::Api),
            ("/api/", Role::Main),
            ("/", Role::Main)
        ]
    );
}

#[test]
fn every_site_problem_is_reported_at_once_with_its_line() {
    let toml = format!(
        "{HEADER}{}{}{}\n[site.one]\ninstances = [\"a\", \"ghost\"]\nfront_door = 8001\n\n[site.two]\ninstances = [\"a\", \"b\"]\nfront_door = 8001\n\n[site.c]\ninstances = [\"b\"]\nfront_door = 9001\n",
        member("a", 8000, "main"),
        member("b", 8001, "api"),
        member("c", 8002, "main"),
    );
    let found = problems(&toml);
    let has = |field: &str, needle: &str| {
        found
            .iter()
            .find(|p| p.field == field && p.message.contains(needle))
            .unwrap_or_else(|| panic!("no {field} problem with {needle:?}: {found:#?}"))
            .line
            .expect("a line")
    };
    let line_of = |needle: &str| {
        toml.lines()
            .position(|l| l.contains(needle))
            .map(|n| n as u32 + 1)
            .unwrap()
    };
    // Unknown member, at its line.
    assert_eq!(
        has("site.one.instances", "`ghost` is not an instance"),
        line_of("\"ghost\"")
    );
    // An instance in two sites, at the second site's list.
    assert_eq!(
        has("site.two.instances", "already a member of the site one"),
        line_of("instances = [\"a\", \"b\"]")
    );
    // Front door on an instance's port, and on another site's front door.
    assert_eq!(
        has("site.one.front_door", "port of the instance b"),
        line_of("front_door = 8001")
    );
    has("site.two.front_door", "port of the instance b");
    // A site without a main member; a site named like an instance.
    has("site.c.instances", "no member with role = \"main\"");
    has("site.c", "has the name of an instance");
    assert!(found.len() >= 6, "{found:#?}");
}

#[test]
fn a_front_door_on_another_sites_port_is_refused() {
    let toml = format!(
        "{HEADER}{}{}\n[site.one]\ninstances = [\"a\"]\nfront_door = 9000\n\n[site.two]\ninstances = [\"b\"]\nfront_door = 9000\n",
        member("a", 8000, "main"),
        member("b", 8001, "main"),
    );
    one_problem(
        &toml,
        "site.two.front_door",
        "also the front door of the site one",
    );
}

#[test]
fn a_shared_name_cannot_be_overridden_on_one_member() {
    let toml = format!(
        "{HEADER}{}{}session_cookie = \"mine\"\n\n[site.s]\ninstances = [\"a\", \"b\"]\nfront_door = 9000\n",
        member("a", 8000, "main"),
        member("b", 8001, "api"),
    );
    one_problem(&toml, "instance.b.session_cookie", "member of the site s");
}

#[test]
fn a_cache_prefix_meeting_another_units_channel_prefix_is_refused() {
    let toml = format!(
        "{HEADER}{}{}{}cache_prefix = \"context7_s:x\"\n\n[site.s]\ninstances = [\"a\", \"b\"]\nfront_door = 9000\n",
        member("a", 8000, "main"),
        member("b", 8001, "api"),
        member("lone", 8002, "main"),
    );
    one_problem(
        &toml,
        "instance.lone.cache_prefix",
        "channel-layer prefix `context7_s`",
    );
}

#[test]
fn a_managed_postgresql_has_a_port_and_a_server_of_ones_own_a_url() {
    let base = "[project]\nname = \"shop\"\nsettings = \"shop.settings\"\n";
    let with = |db: &str| {
        format!(
            "{base}\n[database]\n{db}\n{}cache = \"locmem\"\n",
            instance("a", 8000)
        )
    };
    let ws = load(&with("engine = \"postgresql\"\nmanaged = true")).unwrap();
    let pg = ws.postgres.unwrap();
    assert!(pg.managed);
    assert_eq!(
        (pg.host.as_str(), pg.port),
        ("127.0.0.1", workspace::DEFAULT_POSTGRES_PORT)
    );
    let ws = load(&with(
        "engine = \"postgresql\"\nurl = \"postgresql://admin:s3cret@db.local:6543/\"",
    ))
    .unwrap();
    let pg = ws.postgres.unwrap();
    assert!(!pg.managed);
    assert_eq!((pg.host.as_str(), pg.port), ("db.local", 6543));
    assert!(!pg.redacted().contains("s3cret"), "{}", pg.redacted());
    // Names only, as before: the project's own server.
    assert!(load(&with("engine = \"postgresql\""))
        .unwrap()
        .postgres
        .is_none());
    one_problem(
        &with("engine = \"postgresql\"\nmanaged = true\nurl = \"postgresql://a@h/\""),
        "database.url",
        "both say where the server is",
    );
    one_problem(
        &with("engine = \"postgresql\"\nmanaged = true\nport = 80"),
        "database.port",
        "out of range",
    );
    one_problem(
        &with("engine = \"postgresql\"\nport = 5433"),
        "database.port",
        "not managed",
    );
    one_problem(
        &with("engine = \"postgresql\"\nurl = \"mysql://h/\""),
        "database.url",
        "not a postgresql:// URL",
    );
    one_problem(
        &with("engine = \"sqlite\"\nmanaged = true"),
        "database",
        "for a PostgreSQL server",
    );
}

fn chat() -> String {
    format!(
        "{HEADER}{}{}{}{}{CHAT}",
        member("chat_main", 8000, "main"),
        member("chat_api", 8001, "api"),
        member("chat_websocket", 8002, "websocket"),
        member("review", 8003, "main"),
    )
}

#[test]
fn companion_processes_run_with_an_instances_or_a_sites_environment() {
    let toml = format!(
        "{}\n[[process]]\nname = \"worker\"\ncommand = \"celery -A config worker\"\ninstance = \"review\"\nrestart = \"on-failure\"\n\n[[process]]\nname = \"beat\"\ncommand = \"  celery -A config beat  \"\nsite = \"chat\"\nautostart = false\n",
        chat()
    );
    let ws = load(&toml).unwrap();
    let worker = ws.process("worker").unwrap();
    assert_eq!(worker.command, "celery -A config worker");
    assert_eq!(
        worker.unit,
        workspace::ProcessUnit::Instance("review".into())
    );
    assert_eq!(worker.restart, workspace::RestartPolicy::OnFailure);
    assert_eq!(worker.max_restarts, 5);
    assert!(worker.autostart);
    let beat = ws.process("beat").unwrap();
    assert_eq!(beat.command, "celery -A config beat");
    assert!(!beat.autostart);
    assert_eq!(beat.restart, workspace::RestartPolicy::Never);
    // A site's companion runs with its main-role member's environment.
    assert_eq!(ws.process_instance(beat).unwrap().name, "chat_main");
    let names =
        |i: &str| -> Vec<String> { ws.companions_of(i).iter().map(|p| p.name.clone()).collect() };
    assert_eq!(names("review"), ["worker"]);
    assert_eq!(names("chat_main"), ["beat"]);
    assert!(names("chat_api").is_empty());

    // The window gets each on its unit: the instance's card, the site's group.
    let view = kovan_core::view::WorkspaceOverview::of(&ws);
    let card = view.instances.iter().find(|c| c.name == "review").unwrap();
    assert_eq!(card.companions.len(), 1);
    assert_eq!(card.companions[0].name, "worker");
    assert_eq!(card.companions[0].log_file, "logs/worker.log");
    let main = view
        .instances
        .iter()
        .find(|c| c.name == "chat_main")
        .unwrap();
    assert!(main.companions.is_empty(), "beat is the site's");
    let site = &view.sites[0];
    assert_eq!(site.companions.len(), 1);
    assert_eq!(
        (
            site.companions[0].name.as_str(),
            site.companions[0].runs_with.as_str()
        ),
        ("beat", "chat_main")
    );
    assert!(!site.companions[0].autostart);
}

#[test]
fn every_wrong_companion_process_is_said_with_its_line_at_once() {
    let processes = "
[[process]]
name = \"review\"
command = \"celery worker\"
instance = \"review\"

[[process]]
name = \"chat\"
command = \"x\"
instance = \"review\"

[[process]]
name = \"watch\"
command = \"   \"
instance = \"nobody\"

[[process]]
name = \"both\"
command = \"x\"
instance = \"review\"
site = \"chat\"

[[process]]
name = \"neither\"
command = \"x\"

[[process]]
name = \"watch\"
command = \"x\"
site = \"shop\"
restart = \"always\"
";
    let toml = format!("{}{processes}", chat());
    let base_lines = chat().lines().count() as u32;
    let found = problems(&toml);
    let at = |field: &str, needle: &str| -> u32 {
        let p = found
            .iter()
            .find(|p| p.field == field && p.message.contains(needle))
            .unwrap_or_else(|| panic!("no problem {field} {needle:?} in {found:#?}"));
        p.line.expect("a line") - base_lines
    };
    // Lines within the [[process]] part of the file.
    assert_eq!(at("process.review.name", "has the name of an instance"), 3);
    assert_eq!(at("process.chat.name", "has the name of a site"), 8);
    assert_eq!(at("process.watch.command", "the command is empty"), 14);
    assert_eq!(
        at("process.watch.instance", "`nobody` is not an instance"),
        15
    );
    assert_eq!(
        at("process.both.instance", "both an instance and a site"),
        20
    );
    assert_eq!(
        at("process.neither.instance", "neither an instance nor a site"),
        24
    );
    assert_eq!(
        at(
            "process.watch.name",
            "has the name of another process (line"
        ),
        28
    );
    assert_eq!(at("process.watch.site", "`shop` is not a site"), 30);
    assert_eq!(at("process.watch.restart", "`always` is not one of"), 31);
    assert_eq!(found.len(), 9, "{found:#?}");
}

#[test]
fn a_process_without_a_command_or_with_an_unknown_key_is_a_shape_problem() {
    let toml = format!(
        "{HEADER}{}\n[[process]]\nname = \"worker\"\ninstance = \"a\"\nport = 9000\n",
        instance("a", 8000)
    );
    let found = problems(&toml);
    assert!(
        found
            .iter()
            .any(|p| p.field == "process[1]" && p.message.contains("missing field `command`")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.field == "process[1].port" && p.message.contains("unknown field `port`")),
        "{found:#?}"
    );
}

/// `migrate`: "ask" unless said; the project's is every instance's default, an instance's own
/// overrides it, a site follows its main-role member; a bad value or type is said with its line,
/// all in one run.
#[test]
fn the_migrate_policy_defaults_overrides_and_is_checked_with_its_line() {
    use workspace::MigratePolicy;
    let base = "[project]\nname = \"t\"\nsettings = \"t.settings\"\n";
    let instance = |name: &str, port: i64| format!("{}cache = \"locmem\"\n", instance(name, port));
    let ws = load(&format!("{base}{}", instance("a", 8000))).unwrap();
    assert_eq!(ws.project.migrate, MigratePolicy::Ask);
    assert_eq!(ws.migrate_policy("a"), MigratePolicy::Ask);

    let ws = load(&format!(
        "{base}migrate = \"auto\"\n{}{}migrate = \"never\"\n{}role = \"api\"\nmigrate = \"never\"\n{}role = \"main\"\n\n[site.s]\ninstances = [\"c\", \"d\"]\nfront_door = 8090\n",
        instance("a", 8000),
        instance("b", 8001),
        instance("c", 8002),
        instance("d", 8003),
    ))
    .unwrap();
    assert_eq!(ws.instance("a").unwrap().migrate, MigratePolicy::Auto);
    assert_eq!(ws.migrate_policy("b"), MigratePolicy::Never);
    // c says never, but the site's main-role member d (the project's auto) decides for both.
    assert_eq!(ws.instance("c").unwrap().migrate, MigratePolicy::Never);
    assert_eq!(ws.migrate_policy("c"), MigratePolicy::Auto);
    assert_eq!(ws.migrate_policy("d"), MigratePolicy::Auto);

    let found = problems(&format!(
        "{base}migrate = \"yes\"\n{}migrate = \"Auto\"\n{}migrate = \"sometimes\"\n",
        instance("a", 8000),
        instance("b", 8001)
    ));
    assert_eq!(found.len(), 3, "{found:#?}");
    let at = |field: &str| {
        found
            .iter()
            .find(|p| p.field == field)
            .unwrap_or_else(|| panic!("{field}: {found:#?}"))
    };
    let p = at("project.migrate");
    assert_eq!(p.line, Some(4), "{p:?}");
    assert!(
        p.message
            .contains("`yes` is not one of \"ask\", \"auto\", \"never\""),
        "{p:?}"
    );
    let p = at("instance.a.migrate");
    assert_eq!(p.line, Some(10), "{p:?}");
    assert!(p.message.contains("`Auto` is not one of"), "{p:?}");
    let p = at("instance.b.migrate");
    assert_eq!(p.line, Some(16), "{p:?}");
    assert!(p.message.contains("`sometimes` is not one of"), "{p:?}");
    assert!(p.fix.contains("\"auto\""), "{p:?}");
    // A wrong type is said by the shape check, with its line.
    let p = one_problem(
        &format!("{base}{}migrate = true\n", instance("a", 8000)),
        "instance[1].migrate",
        "expected a string",
    );
    assert_eq!(p.line, Some(9), "{p:?}");
}
