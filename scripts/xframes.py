#!/usr/bin/env python3
"""What an X display shows, measured from its pixels: used by scripts/package-test.sh and
scripts/bench-window.sh, which run the desktop app under their own Xvfb (started with -br, so the
screen is black where no window is).

  xframes.py rendered --display :N --timeout S [--settle S] [--min-ink SHARE]
      Waits until a window shows content, with at least --min-ink of its pixels text or icons
      (0.01; Kovan's "reading kovan.toml" screen has far less, the three cards 2.5 %), and has not
      changed for --settle seconds. Exit 0 when it has, 1 on timeout.

  xframes.py launch --display :N --runs N --out DIR -- COMMAND...
      Starts COMMAND N times, one after another, and for each run records from the moment just
      before exec: when the window first shows on the screen ("mapped"), and when what it shows
      first matches what it settles on ("cards": see `first_complete`). Prints one JSON object.

Frames are read with `xwd -root` (a raw dump, about 30 ms for 1280x860 here) and kept only when
they differ from the one before, so a run holds a few frames in memory.
"""
import argparse
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import time

INK = 150  # a pixel darker than this (0-255 luma) is text, an icon or a strong border


class Frame:
    def __init__(self, t, data):
        self.t = t
        (header_size, _version, _fmt, _depth, self.width, self.height, _xoff, byte_order,
         _unit, _bit_order, _pad, bpp, self.stride, _vclass, red_mask, _gm, _bm, _bits,
         _entries, ncolors) = struct.unpack(">20I", data[:80])
        # Pixels are B G R (X): 4 bytes on an empty screen, 3 once the app's window is on it.
        if bpp not in (24, 32) or byte_order != 0 or red_mask != 0xFF0000:
            raise SystemExit(f"xframes: unexpected xwd format (bpp {bpp}, byte order {byte_order}); "
                             "start Xvfb with -screen 0 WxHx24")
        self.bpp = bpp // 8
        self.offset = header_size + ncolors * 12
        self.data = data

    def luma(self, x, y):
        i = self.offset + y * self.stride + x * self.bpp
        b, g, r = self.data[i], self.data[i + 1], self.data[i + 2]
        return (299 * r + 587 * g + 114 * b) // 1000

    def pixels(self):
        return self.data[self.offset:]

    def same(self, other):
        return other is not None and self.bpp == other.bpp and self.pixels() == other.pixels()

    def bbox_non_black(self, step=8):
        """The box of non-black pixels on a coarse grid: where a window is, on an Xvfb -br screen."""
        xs, ys = [], []
        for y in range(0, self.height, step):
            row = self.offset + y * self.stride
            line = self.data[row:row + self.width * self.bpp]
            for x in range(0, self.width, step):
                i = x * self.bpp
                if line[i] or line[i + 1] or line[i + 2]:
                    xs.append(x)
                    ys.append(y)
        if not xs:
            return None
        return min(xs), min(ys), max(xs), max(ys)

    def ink_share(self, box, step=2):
        x0, y0, x1, y1 = box
        points = [(x, y) for y in range(y0, y1 + 1, step) for x in range(x0, x1 + 1, step)]
        return sum(1 for x, y in points if self.luma(x, y) < INK) / len(points)

    def flat(self, box, step=4):
        """True when the box is one colour (a window mapped, nothing drawn in it yet)."""
        x0, y0, x1, y1 = box
        first = None
        for y in range(y0, y1 + 1, step):
            for x in range(x0, x1 + 1, step):
                i = self.offset + y * self.stride + x * self.bpp
                px = self.data[i:i + 3]
                if first is None:
                    first = px
                elif px != first:
                    return False
        return True

    def write_png(self, path):
        """Writes the frame as a PNG through ImageMagick (raw BGRA in, PNG out)."""
        rgb = bytearray(self.width * self.height * 3)
        for y in range(self.height):
            row = self.offset + y * self.stride
            n = self.bpp
            line = self.data[row:row + self.width * n]
            out = y * self.width * 3
            rgb[out:out + self.width * 3:3] = line[2::n]
            rgb[out + 1:out + self.width * 3:3] = line[1::n]
            rgb[out + 2:out + self.width * 3:3] = line[0::n]
        subprocess.run(["convert", "-size", f"{self.width}x{self.height}", "-depth", "8", "rgb:-", path],
                       input=bytes(rgb), check=True)


def grab(display):
    data = subprocess.run(["xwd", "-root", "-silent", "-display", display],
                          check=True, capture_output=True).stdout
    return Frame(time.monotonic(), data)


def sample_points(frame, box, step=2):
    """The reference's pixels on a grid inside box, split into ink (text, icons) and paper."""
    x0, y0, x1, y1 = box
    ink, paper = [], []
    for y in range(y0, y1 + 1, step):
        for x in range(x0, x1 + 1, step):
            (ink if frame.luma(x, y) < INK else paper).append((x, y))
    return ink, paper[::7]


def first_complete(frames, box, share=0.9):
    """The first frame that shows what the settled frame shows: at least `share` of its ink drawn
    as ink and `share` of its paper as paper.

    The settled frame is the last one, taken seconds after the window first showed content. Before
    the workspace is on screen the window is black (not mapped: all "ink"), blank (no ink) or shows
    the header and "kovan.toml okunuyor..." only; the three cards are most of the window's text, so
    90 % of the settled frame's ink drawn means the cards are on screen. Live values that change
    (uptime, health, key counts) are a small part of it."""
    ink, paper = sample_points(frames[-1], box)
    if not ink:
        return None, 0
    for f in frames:
        drawn = sum(1 for x, y in ink if f.luma(x, y) < INK)
        clear = sum(1 for x, y in paper if f.luma(x, y) >= INK)
        if drawn >= share * len(ink) and clear >= share * len(paper):
            return f, len(ink)
    return None, len(ink)


def cmd_rendered(args):
    deadline = time.monotonic() + args.timeout
    last, since = None, None
    while time.monotonic() < deadline:
        f = grab(args.display)
        box = f.bbox_non_black()
        if box and not f.flat(box) and f.ink_share(box) >= args.min_ink:
            if f.same(last):
                if time.monotonic() - since >= args.settle:
                    print(json.dumps({"window": box}))
                    return 0
            else:
                last, since = f, time.monotonic()
        time.sleep(0.1)
    print(f"xframes: no rendered, settled window on {args.display} within {args.timeout} s",
          file=sys.stderr)
    return 1


def run_once(args, index):
    env = dict(os.environ, DISPLAY=args.display)
    frames, mapped = [], None
    start = time.monotonic()
    app = subprocess.Popen(args.command, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = start + args.timeout
        settle_until = None
        last = None
        while time.monotonic() < deadline:
            f = grab(args.display)
            if not f.same(last):
                frames.append(f)
                last = f
            box = f.bbox_non_black()
            if box and mapped is None:
                mapped = f.t
            if box and not f.flat(box) and settle_until is None:
                settle_until = f.t + args.settle
            if settle_until is not None and f.t >= settle_until:
                break
            if app.poll() is not None:
                raise SystemExit(f"xframes: the app exited with {app.returncode} during run {index}")
        else:
            raise SystemExit(f"xframes: run {index}: the window did not settle within {args.timeout} s")
        box = frames[-1].bbox_non_black(step=1)
        done, ink = first_complete(frames, box)
        if done is None:
            raise SystemExit(f"xframes: run {index}: no frame showed the settled content")
        if args.out:
            frames[-1].write_png(os.path.join(args.out, f"launch-{index}.png"))
        return {"mapped": round(mapped - start, 3), "cards": round(done.t - start, 3),
                "frames": len(frames), "ink_points": ink}
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
        # The WebKit processes leave with the app; wait until nothing of its session is left.
        for _ in range(100):
            if subprocess.run(["pgrep", "-s", str(app.pid)], capture_output=True).returncode != 0:
                break
            time.sleep(0.1)
        else:
            os.killpg(app.pid, signal.SIGKILL)


def cmd_launch(args):
    runs = []
    for i in range(1, args.runs + 1):
        r = run_once(args, i)
        print(f"run {i}: window on screen {r['mapped']:.2f} s, cards drawn {r['cards']:.2f} s",
              file=sys.stderr)
        runs.append(r)
        time.sleep(1)
    print(json.dumps({"runs": runs,
                      "median_mapped": statistics.median(r["mapped"] for r in runs),
                      "median_cards": statistics.median(r["cards"] for r in runs)}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("rendered")
    r.add_argument("--display", required=True)
    r.add_argument("--timeout", type=float, default=30)
    r.add_argument("--settle", type=float, default=1.0)
    r.add_argument("--min-ink", type=float, default=0.01)
    r.set_defaults(func=cmd_rendered)
    lch = sub.add_parser("launch")
    lch.add_argument("--display", required=True)
    lch.add_argument("--runs", type=int, default=5)
    lch.add_argument("--timeout", type=float, default=30)
    lch.add_argument("--settle", type=float, default=4.0,
                     help="seconds to keep watching after the window first shows content")
    lch.add_argument("--out", help="folder for each run's settled frame as a PNG")
    lch.add_argument("command", nargs="+")
    lch.set_defaults(func=cmd_launch)
    args = p.parse_args()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
