# Run by Kovan with `python -c SCRIPT REQUEST`, cwd at the Django root. Reports what this
# interpreter has (Django's version, the packages a configuration may need) and which environment
# variables the project's settings read, found in their source. Nothing of the project is
# imported, so settings that need those very variables can still be read; nor is Django: only
# package metadata. Prints one marked JSON line.
import ast
import importlib.metadata
import importlib.util
import json
import os
import site
import sys

MARK = "KOVAN-PROBE "
MAX_FILES = 64

# django-environ's readers: how many leading positional arguments come before `default`, and the
# variable read when none is named.
ENV_METHODS = {
    "str": (1, None), "bool": (1, None), "int": (1, None), "float": (1, None),
    "json": (1, None), "url": (1, None), "path": (1, None), "bytes": (1, None),
    "list": (2, None), "tuple": (2, None), "dict": (2, None), "get_value": (2, None),
    "db_url": (1, "DATABASE_URL"), "db": (1, "DATABASE_URL"),
    "cache_url": (1, "CACHE_URL"), "cache": (1, "CACHE_URL"),
    "email_url": (1, "EMAIL_URL"), "email": (1, "EMAIL_URL"),
    "search_url": (1, "SEARCH_URL"),
}
ENV_CLASSES = {"Env", "FileAwareEnv"}
# Strings in the settings that tell what the project runs with (INSTALLED_APPS, backends).
MENTIONS = {
    "channels", "daphne", "channels_redis.core.RedisChannelLayer",
    "channels_redis.pubsub.RedisPubSubChannelLayer", "django_redis.cache.RedisCache",
}


def dist_version(names):
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def find(import_name, dists):
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return None
    origin = spec.origin or next(iter(spec.submodule_search_locations or []), None)
    return {"version": dist_version(dists), "origin": origin}


def site_dirs():
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if os.path.isdir(d)]


# ---- the settings' source ----


def module_file(root, module):
    base = os.path.join(root, *module.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def absolute(module, is_package, level, name):
    if level == 0:
        return name
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([name] if name else []))


def imported_modules(tree, module, is_package):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = absolute(module, is_package, node.level, node.module)
            if base:
                yield base
            for alias in node.names:
                if alias.name != "*":
                    yield f"{base}.{alias.name}" if base else alias.name


def settings_files(root, settings):
    """The settings module, the packages above it (their __init__ runs first) and every module
    of the project they import, in the order found."""
    parts = settings.split(".")
    queue = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
    seen, files = set(), []
    while queue and len(files) < MAX_FILES:
        module = queue.pop(0)
        if module in seen:
            continue
        seen.add(module)
        path = module_file(root, module)
        if path is None:
            continue
        entry = {"module": module, "path": path, "tree": None, "error": None}
        files.append(entry)
        try:
            with open(path, "rb") as f:
                entry["tree"] = ast.parse(f.read(), filename=path)
        except (SyntaxError, ValueError, OSError) as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
            continue
        is_package = path.endswith("__init__.py")
        for name in imported_modules(entry["tree"], module, is_package):
            pieces = name.split(".")
            queue.extend(".".join(pieces[:n]) for n in range(1, len(pieces) + 1))
    return files


def literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


class Names:
    """What the files call things: which names are django-environ Env objects (with the defaults
    their schemes give), and what `os.environ` and `os.getenv` are called."""

    def __init__(self):
        self.env_objects = set()
        self.scheme_defaults = set()
        self.environ = {"os.environ"}
        self.getenv = {"os.getenv"}

    def learn(self, tree):
        env_classes = {f"environ.{c}" for c in ENV_CLASSES}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "environ":
                env_classes |= {a.asname or a.name for a in node.names if a.name in ENV_CLASSES}
            if isinstance(node, ast.ImportFrom) and node.module == "os":
                for a in node.names:
                    if a.name == "environ":
                        self.environ.add(a.asname or a.name)
                    if a.name == "getenv":
                        self.getenv.add(a.asname or a.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                if dotted(node.value.func) in env_classes:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.env_objects.add(target.id)
                    for kw in node.value.keywords:
                        if kw.arg and isinstance(kw.value, ast.Tuple) and len(kw.value.elts) == 2:
                            self.scheme_defaults.add(kw.arg)


def has_default(call, before_default):
    return len(call.args) > before_default or any(k.arg == "default" for k in call.keywords)


STDLIB = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)


def imports_in(tree, module, is_package, relative, root):
    """Top-level modules the file imports that are not the project's own, and whether this
    interpreter can import them."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if module_file(root, top) is None and top not in STDLIB:
                found.append({"module": top, "file": relative, "line": node.lineno,
                              "importable": find(top, []) is not None})
    return found


def mentions_in(tree):
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in MENTIONS}


def reads_in(tree, names, relative):
    reads, dotenv = [], []

    def add(name, node, required, how):
        reads.append(
            {"name": name, "file": relative, "line": node.lineno, "required": required, "how": how}
        )

    stored = {
        id(t) for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AugAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and id(node) not in stored:
            if dotted(node.value) in names.environ and literal(node.slice):
                add(literal(node.slice), node, True, "os.environ[]")
        if not isinstance(node, ast.Call):
            continue
        func = dotted(node.func) or ""
        first = literal(node.args[0]) if node.args else None
        if isinstance(node.func, ast.Attribute) and node.func.attr == "read_env":
            dotenv.append({"file": relative, "line": node.lineno})
        elif func in names.env_objects and first:
            required = not has_default(node, 2) and first not in names.scheme_defaults
            add(first, node, required, "env()")
        elif isinstance(node.func, ast.Attribute) and dotted(node.func.value) in names.env_objects:
            method = node.func.attr
            if method not in ENV_METHODS:
                continue
            before_default, implied = ENV_METHODS[method]
            var = first or next(
                (literal(k.value) for k in node.keywords if k.arg == "var"), None
            ) or (implied if not node.args else None)
            if var:
                required = not has_default(node, before_default) and var not in names.scheme_defaults
                add(var, node, required, f"env.{method}()")
        elif func in {f"{e}.get" for e in names.environ} and first:
            add(first, node, False, "os.environ.get()")
        elif func in names.getenv and first:
            add(first, node, False, "os.getenv()")
    # ast.walk goes breadth first; a finding reads best in the file's own order.
    reads.sort(key=lambda r: r["line"])
    return reads, dotenv


def scan_settings(root, settings):
    files = settings_files(root, settings)
    names = Names()
    for f in files:
        if f["tree"] is not None:
            names.learn(f["tree"])
    reads, dotenv, errors, imports, mentions = [], [], [], [], set()
    for f in files:
        relative = os.path.relpath(f["path"], root)
        if f["tree"] is None:
            errors.append({"file": relative, "error": f["error"]})
            continue
        r, d = reads_in(f["tree"], names, relative)
        reads.extend(r)
        dotenv.extend(d)
        is_package = f["path"].endswith("__init__.py")
        imports.extend(imports_in(f["tree"], f["module"], is_package, relative, root))
        mentions |= mentions_in(f["tree"])
    return {
        "files": [os.path.relpath(f["path"], root) for f in files],
        "reads": reads,
        "dotenv": dotenv,
        "errors": errors,
        "imports": imports,
        "mentions": sorted(mentions),
        "found": bool(files) and module_file(root, settings) is not None,
    }


def main():
    request = json.loads(sys.argv[1])
    root = os.getcwd()
    packages = {name: find(name, dists) for name, dists in request["packages"]}
    settings = request.get("settings")
    answer = {
        "python": ".".join(str(n) for n in sys.version_info[:3]),
        "executable": sys.executable,
        "packages": packages,
        "site_dirs": site_dirs(),
        "settings": scan_settings(root, settings) if settings else None,
    }
    return answer


print(MARK + json.dumps(main()), flush=True)
