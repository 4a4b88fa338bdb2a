//! What kovan-desktop does before any window exists: `--help` and `--version` print and exit, and
//! a session without a display is told so in a sentence instead of GTK's panic and backtrace.
//! Other arguments pass through untouched (`--workspace PATH`; WebDriver adds its own).

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

const USAGE: &str = "\
Usage: kovan-desktop [--workspace PATH]

Kovan's window: run several instances of one Django project side by side, isolated.

Options:
  --workspace PATH  kovan.toml, or the folder that holds it (default: $KOVAN_WORKSPACE, else
                    the bundled example project)
  -h, --help        print this help and exit
  -V, --version     print the version and exit

The same core runs in a terminal as `kovan` (kovan up, kovan status, kovan flush; kovan --help).
";

/// Print help or the version and exit, or exit when there is no display; otherwise return.
pub fn before_the_window(args: impl Iterator<Item = OsString>) {
    for arg in args.skip(1) {
        match arg.to_str() {
            Some("-h" | "--help") => finish(0, &mut std::io::stdout(), USAGE),
            Some("-V" | "--version") => finish(
                0,
                &mut std::io::stdout(),
                &format!("kovan-desktop {}\n", env!("CARGO_PKG_VERSION")),
            ),
            _ => {}
        }
    }
    if let Some(why) = no_display() {
        finish(
            1,
            &mut std::io::stderr(),
            &format!(
                "kovan-desktop: {why}, so the window cannot open. Start it from a desktop session, \
                 or use `kovan` in this terminal (kovan up, kovan status, kovan --help).\n"
            ),
        );
    }
    // Should GTK still fail (a display that refuses the connection), say that, not a backtrace.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("gtk") || message.contains("display") {
            let _ = writeln!(
                std::io::stderr(),
                "kovan-desktop: the window could not open on this display ({message}). Check \
                 DISPLAY or WAYLAND_DISPLAY, or use `kovan` in a terminal."
            );
            std::process::exit(1);
        }
        default(info);
    }));
}

/// Print and exit; a closed pipe (`kovan-desktop --help | head -1`) is not an error.
fn finish(code: i32, to: &mut dyn Write, text: &str) -> ! {
    let _ = to.write_all(text.as_bytes()).and_then(|()| to.flush());
    std::process::exit(code);
}

/// Why no window can open, when that is plain before trying: no display named, or the one named
/// has no server listening.
fn no_display() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let x11 = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty());
    let wayland = std::env::var("WAYLAND_DISPLAY")
        .ok()
        .filter(|d| !d.is_empty());
    if let Some(name) = &wayland {
        let socket = match Path::new(name).is_absolute() {
            true => name.into(),
            false => Path::new(&std::env::var("XDG_RUNTIME_DIR").unwrap_or_default()).join(name),
        };
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            return None;
        }
    }
    match &x11 {
        Some(display) => match x11_answers(display) {
            Some(false) if wayland.is_none() => {
                Some(format!("no X server answers on DISPLAY={display}"))
            }
            Some(false) => Some(format!(
                "neither the Wayland display {} nor DISPLAY={display} answers",
                wayland.as_deref().unwrap_or_default()
            )),
            // A remote or unusual display: let GTK try.
            _ => None,
        },
        None if wayland.is_some() => Some(format!(
            "no Wayland compositor answers on WAYLAND_DISPLAY={}",
            wayland.as_deref().unwrap_or_default()
        )),
        None => Some("there is no display (DISPLAY and WAYLAND_DISPLAY are unset)".into()),
    }
}

/// For a local X display (`:N`, `:N.S`, `unix:N`): whether its socket takes a connection. None
/// for a display over TCP, which is left to GTK.
fn x11_answers(display: &str) -> Option<bool> {
    let local = display
        .strip_prefix("unix:")
        .or_else(|| display.strip_prefix(':'))?;
    let number: u32 = local.split('.').next()?.parse().ok()?;
    let path = format!("/tmp/.X11-unix/X{number}");
    if std::os::unix::net::UnixStream::connect(&path).is_ok() {
        return Some(true);
    }
    #[cfg(target_os = "linux")]
    {
        // X servers on Linux also listen on an abstract socket of the same name.
        use std::os::linux::net::SocketAddrExt;
        if let Ok(addr) = std::os::unix::net::SocketAddr::from_abstract_name(path.as_bytes()) {
            if std::os::unix::net::UnixStream::connect_addr(&addr).is_ok() {
                return Some(true);
            }
        }
    }
    Some(false)
}
