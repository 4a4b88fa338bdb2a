//! Everything `kovan` prints goes through here, so that a closed stdout or stderr
//! (`kovan status | head -1`) ends a command quietly instead of with a panic.
//!
//! A write that finds its pipe closed marks the stream closed; later writes to it are dropped.
//! Then the command ends with [`CLOSED_PIPE`], the status a shell gives a command that SIGPIPE
//! ended. A command with something to undo first (`kovan up` has process groups to stop)
//! registers [`on_close`] instead and ends itself after the cleanup. Any other write error (a full
//! disk behind `> file`) ends the command the same way with status 1, saying so on the other stream.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// 128 + SIGPIPE: how a shell reports a command ended by a closed pipe (docs/CLI.md).
pub const CLOSED_PIPE: u8 = 141;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

static OUT_CLOSED: AtomicBool = AtomicBool::new(false);
static ERR_CLOSED: AtomicBool = AtomicBool::new(false);
/// Set when a write failed for another reason than a closed pipe.
static FAILED: AtomicBool = AtomicBool::new(false);
static ON_CLOSE: OnceLock<Box<dyn Fn() + Send + Sync>> = OnceLock::new();

impl Stream {
    fn flag(self) -> &'static AtomicBool {
        match self {
            Self::Out => &OUT_CLOSED,
            Self::Err => &ERR_CLOSED,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Out => "stdout",
            Self::Err => "stderr",
        }
    }
}

/// Write to stdout or stderr; see the module's comment for what happens when it is closed.
/// Control characters (other than newline and tab) are written as escapes: what is printed
/// carries values from kovan.toml, env files and processes, which must not drive the terminal.
pub fn write(stream: Stream, args: fmt::Arguments) {
    let text = args.to_string();
    // What went wrong, as the user was told, is kept in Kovan's log too.
    if stream == Stream::Err {
        if let Some(error) = text.strip_prefix("error: ") {
            tracing::error!(target: "kovan", "{}", error.trim_end());
        }
    }
    write_raw(
        stream,
        format_args!("{}", kovan_core::text::printable(&text)),
    );
}

/// [`write`] without escaping, for what Kovan itself styles (colours, progress lines that
/// return to the line's start) and for an instance's own output, colours included.
pub fn write_raw(stream: Stream, args: fmt::Arguments) {
    if stream.flag().load(Ordering::SeqCst) {
        return;
    }
    let written = match stream {
        // Flushed at once, so a closed pipe is found here and not at exit, where it is ignored.
        Stream::Out => {
            let mut out = io::stdout().lock();
            out.write_fmt(args).and_then(|()| out.flush())
        }
        Stream::Err => io::stderr().lock().write_fmt(args),
    };
    if let Err(e) = written {
        closed(stream, &e);
    }
}

/// Run `f` when stdout or stderr turns out closed, instead of ending the process: for a command
/// that must clean up first. It then ends itself with [`status`].
pub fn on_close(f: impl Fn() + Send + Sync + 'static) {
    let _ = ON_CLOSE.set(Box::new(f));
}

/// Whether a write found stdout or stderr closed (or failing).
pub fn any_closed() -> bool {
    OUT_CLOSED.load(Ordering::SeqCst) || ERR_CLOSED.load(Ordering::SeqCst)
}

/// The exit status a command ended by a closed stream returns.
pub fn status() -> u8 {
    if FAILED.load(Ordering::SeqCst) {
        1
    } else {
        CLOSED_PIPE
    }
}

fn closed(stream: Stream, e: &io::Error) {
    if stream.flag().swap(true, Ordering::SeqCst) {
        return;
    }
    if e.kind() != io::ErrorKind::BrokenPipe {
        FAILED.store(true, Ordering::SeqCst);
        let other = match stream {
            Stream::Out => Stream::Err,
            Stream::Err => Stream::Out,
        };
        write(
            other,
            format_args!("error: could not write to {}: {e}\n", stream.name()),
        );
    }
    match ON_CLOSE.get() {
        Some(f) => f(),
        None => std::process::exit(i32::from(status())),
    }
}

/// For a command that may print nothing for a long time (`kovan up`): notice a closed stdout or
/// stderr pipe as soon as its reader goes, not at the next write. The kernel reports the write end
/// of a pipe (or socket) whose reader is gone as POLLERR/POLLHUP; terminals and files never are.
pub fn watch_for_closed_pipes() {
    std::thread::spawn(|| {
        let mut watched = vec![
            (libc::STDOUT_FILENO, Stream::Out),
            (libc::STDERR_FILENO, Stream::Err),
        ];
        while !watched.is_empty() {
            let mut fds: Vec<libc::pollfd> = watched
                .iter()
                .map(|&(fd, _)| libc::pollfd {
                    fd,
                    events: 0,
                    revents: 0,
                })
                .collect();
            // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the whole call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
            if n < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            let mut still = Vec::new();
            for (pollfd, &(fd, stream)) in fds.iter().zip(&watched) {
                let gone = pollfd.revents & (libc::POLLERR | libc::POLLHUP) != 0;
                if pollfd.revents & libc::POLLNVAL != 0 {
                    // Not open at all: nothing to watch.
                } else if gone {
                    closed(stream, &io::Error::from(io::ErrorKind::BrokenPipe));
                } else {
                    still.push((fd, stream));
                }
            }
            watched = still;
        }
    });
}

/// `print!` through [`write`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write($crate::out::Stream::Out, format_args!($($arg)*)) };
}

/// `println!` through [`write`].
macro_rules! outln {
    () => { $crate::out::write($crate::out::Stream::Out, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::out::write($crate::out::Stream::Out, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` through [`write`].
macro_rules! err {
    ($($arg:tt)*) => { $crate::out::write($crate::out::Stream::Err, format_args!($($arg)*)) };
}

/// `eprintln!` through [`write`].
macro_rules! errln {
    () => { $crate::out::write($crate::out::Stream::Err, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::out::write($crate::out::Stream::Err, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` through [`write_raw`]: for what Kovan styles itself.
macro_rules! err_raw {
    ($($arg:tt)*) => { $crate::out::write_raw($crate::out::Stream::Err, format_args!($($arg)*)) };
}

/// `print!` through [`write_raw`].
macro_rules! out_raw {
    ($($arg:tt)*) => { $crate::out::write_raw($crate::out::Stream::Out, format_args!($($arg)*)) };
}
