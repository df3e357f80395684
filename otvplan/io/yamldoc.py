"""YAML documents with line marks: the reader shared by the scenario and study loaders.

Reading goes in steps, each refusing what it cannot read with an :class:`otvplan.errors.Problem`
(raised together as :class:`Rejected`), never with a PyYAML traceback:

1. **Read** (:func:`read_bytes`, :func:`decode`): the file must exist, be a regular file of at
   most :data:`MAX_FILE_BYTES`, and be UTF-8 text.
2. **Compose** (:func:`compose`): PyYAML's safe composer builds the node graph, which keeps
   each value's line and column. Before any Python object is built the graph is measured
   (:func:`check_size`): a document that expands to more than :data:`MAX_NODES` nodes (a
   "billion laughs" alias bomb), nests deeper than :data:`MAX_DEPTH` or refers to itself is
   rejected.
3. **Convert** (:func:`to_data`): plain Python data (dicts, lists, str, int, float, bool,
   None) with the mark of every key and value (a :class:`Document`), merge keys
   (``<<: *base``) resolved, duplicate keys and unsupported tags reported.

:func:`parse` runs steps 2 and 3. What the data must hold is the loaders' business
(:mod:`otvplan.io.scenario`, :mod:`otvplan.study`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from otvplan.errors import Problem
from otvplan.io.messages import clip, format_location, printable, problem_at

__all__ = [
    "EXTENSION_PREFIX",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "Document",
    "FileKind",
    "Rejected",
    "check_size",
    "compose",
    "decode",
    "parse",
    "read_bytes",
    "to_data",
]

#: Largest scenario or study file accepted [bytes]. Real ones are a few kB.
MAX_FILE_BYTES = 1_000_000

#: Most YAML nodes a document may expand to, counting every alias use as a copy of what it
#: refers to. A scenario with 100 payloads has about 3,000 nodes; the limit stops alias bombs.
MAX_NODES = 100_000

#: Deepest nesting of mappings and lists accepted (a scenario nests about 5 deep).
MAX_DEPTH = 40

#: Top-level keys starting with this are ignored (a place for YAML anchors and notes, as in
#: docker-compose files): ``x-tolerances: &tight {raan: 0.05 deg}``.
EXTENSION_PREFIX = "x-"


class Rejected(Exception):
    """The text cannot be read at all (no file, not UTF-8, not YAML, too large); carries the
    problems. The loaders turn it into their own error (``ScenarioError``, ``StudyError``)."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.problems = problems


class FileKind(NamedTuple):
    """What a loader's files are called in messages, and where to find a good one."""

    noun: str  # "scenario", "study"
    directory_hint: str  # after "is a directory, not a <noun> file; "
    missing_hint: str  # in "no such file; check the path (<missing_hint>)"


def read_bytes(path: Path, file: str, kind: FileKind) -> bytes:
    """Read a file's bytes, refusing missing files, directories and files over
    :data:`MAX_FILE_BYTES` (reading stops there). ``file`` names the file in problems."""
    try:
        if path.is_dir():
            raise Rejected(
                [problem_at(file, f"is a directory, not a {kind.noun} file; {kind.directory_hint}")]
            )
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise Rejected(
            [problem_at(file, f"no such file; check the path ({kind.missing_hint})")]
        ) from None
    except PermissionError:
        raise Rejected([problem_at(file, "permission denied: cannot read this file")]) from None
    except OSError as exc:
        raise Rejected(
            [problem_at(file, f"cannot read this file: {exc.strerror or exc}")]
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise Rejected(
            [
                problem_at(
                    file,
                    f"file is larger than {MAX_FILE_BYTES:,} bytes; a "
                    f"{kind.noun} file is a few kB of YAML text",
                )
            ]
        )
    return data


def decode(data: bytes, file: str, kind: FileKind, *, located: bool = True) -> str:
    """Decode UTF-8 (an optional BOM is dropped), refusing binary files with a clear message.

    A byte that is not UTF-8 is reported at its line and column, or, with ``located=False``,
    against the whole file (the study loader's message).
    """
    if b"\x00" in data[:8192]:
        raise Rejected(
            [
                problem_at(
                    file,
                    "is a binary file (it contains NUL bytes), not YAML "
                    f"text; give a {kind.noun} .yaml file",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise Rejected(
            [
                Problem(
                    file=file,
                    path="",
                    line=line if located else None,
                    column=column if located else None,
                    message=f"is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); "
                    "save the file as UTF-8",
                )
            ]
        ) from None


_YAML_HINTS = (
    ("found character '\\t'", "YAML indents with spaces, not tabs"),
    (
        "mapping values are not allowed here",
        "check the indentation, and quote values that contain ': '",
    ),
    ("could not find expected ':'", "each line of a mapping needs `key: value`"),
    ("found undefined alias", "define the anchor (&name) before using the alias (*name)"),
    ("expected a single document", "a scenario file holds one YAML document; remove the '---'"),
)


def _yaml_problem(exc: yaml.YAMLError, file: str) -> Problem:
    """Turn a PyYAML error into one problem with its line and column."""
    if isinstance(exc, yaml.reader.ReaderError):
        return Problem(
            file=file,
            path="",
            line=None,
            column=None,
            message=f"unacceptable character #x{exc.character:04x} at position {exc.position}: "
            "a scenario file must be printable text",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    message = f"invalid YAML: {problem}"
    if context:
        message += f" ({context}"
        if context_mark is not None and context_mark is not mark:
            message += f" at line {context_mark.line + 1}, column {context_mark.column + 1}"
        message += ")"
    for needle, hint in _YAML_HINTS:
        if needle in str(problem) or (context and needle in context):
            message += f"; {hint}"
            break
    return problem_at(file, message, mark)


#: libyaml's safe loader when PyYAML was built with it: about 20 times faster, with the same
#: nodes and marks. Its error messages differ, so a document it rejects is composed again by
#: the pure-Python loader, whose messages the tests and docs quote.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


#: Nesting characters (flow brackets, or leading spaces and dashes of one line) above which a
#: document's depth is measured before libyaml composes it.
_NESTING_SCREEN = 400


def _may_be_too_deep(text: str) -> bool:
    """Whether ``text`` may nest deeper than :data:`MAX_DEPTH`: libyaml's composer recurses in
    C (5,000 levels need 1-2 MB of stack; a thread with less crashes the process), so such a
    document goes to the pure-Python composer, which stops with a RecursionError. A node's
    depth is at most the flow brackets before it plus twice its line's leading spaces and
    dashes, plus one: below :data:`_NESTING_SCREEN` of either, nothing is parsed."""
    if text.count("[") + text.count("{") <= _NESTING_SCREEN and all(
        len(line) - len(line.lstrip(" -")) <= _NESTING_SCREEN for line in text.splitlines()
    ):
        return False
    return _too_deep_mark(text, _FAST_LOADER) is not None


def _compose_fast(text: str) -> yaml.Node | None:
    """Compose with libyaml, or None when it is unavailable, the document is not clean or
    may nest too deeply for its recursive composer (:func:`_may_be_too_deep`)."""
    if _FAST_LOADER is None or _may_be_too_deep(text):
        return None
    loader = None
    try:
        loader = _FAST_LOADER(text)
        return loader.get_single_node()
    except Exception:  # noqa: BLE001 - let the reference loader say what it is
        return None
    finally:
        if loader is not None:
            loader.dispose()


def compose(text: str, file: str) -> yaml.Node | None:
    """Compose one YAML document into a node graph (no Python objects are built)."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        return loader.get_single_node()
    except yaml.YAMLError as exc:
        raise Rejected([_yaml_problem(exc, file)]) from None
    except RecursionError:
        raise Rejected(
            [
                problem_at(
                    file,
                    f"the document nests too deeply (more than {MAX_DEPTH} "
                    "levels of mappings and lists)",
                    _too_deep_mark(text),
                )
            ]
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _too_deep_mark(text: str, loader=yaml.SafeLoader):
    """Where the first node deeper than :data:`MAX_DEPTH` starts (the mark
    :func:`check_size` gives), from the parser's events: the parser is not recursive, so it
    reads documents the recursive composer cannot. None if the text does not parse."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
                if depth > MAX_DEPTH:
                    return event.start_mark
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def check_size(root: yaml.Node, file: str) -> None:
    """Reject documents that expand to too many nodes, nest too deep, or contain themselves.

    Measures the graph as it would be expanded (every alias counted as a full copy of its
    anchor) with a memo per node, so an alias bomb is measured in microseconds and rejected
    before any Python object exists.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    aliased = False

    def size(node: yaml.Node, depth: int) -> int:
        nonlocal aliased
        key = id(node)
        if key in sizes:
            aliased = True
            return sizes[key]
        if key in open_nodes:
            raise Rejected(
                [
                    problem_at(
                        file,
                        "the document refers to itself through an alias "
                        "(an anchor used inside its own value); remove the "
                        "alias",
                        node.start_mark,
                    )
                ]
            )
        if depth > MAX_DEPTH:
            raise Rejected(
                [
                    problem_at(
                        file,
                        "the document nests too deeply (more than "
                        f"{MAX_DEPTH} levels of mappings and lists)",
                        node.start_mark,
                    )
                ]
            )
        total = 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            open_nodes.add(key)
            children = (
                [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode)
                else node.value
            )
            for child in children:
                total += size(child, depth + 1)
                if total > MAX_NODES:
                    break
            open_nodes.discard(key)
        sizes[key] = total
        return total

    if size(root, 0) > MAX_NODES:
        cause = (
            "aliases (*name) copy what their anchor refers to, and these multiply"
            if aliased
            else "a scenario needs a few thousand at most"
        )
        raise Rejected(
            [
                problem_at(
                    file,
                    f"the document expands to more than {MAX_NODES:,} YAML "
                    f"nodes; {cause}; remove them",
                    root.start_mark,
                )
            ]
        )


_TAG = "tag:yaml.org,2002:"

#: A lone UTF-16 surrogate, which only a YAML escape ("\\ud800") can produce: not a character,
#: and no UTF-8 text (a report, a CSV file) can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_MESSAGE = (
    "{what} holds a lone surrogate escape (\\ud800-\\udfff), which is not a "
    "character; write the character itself, or a \\U00010000-style escape"
)
_PLAIN_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


class Document(NamedTuple):
    """A YAML document as plain data, with the start mark (PyYAML's, 0-based) of every value
    and every key by location (a tuple of keys and list indices), and the problems met while
    converting it (duplicate keys, unsupported tags, lone surrogates)."""

    data: Any
    value_marks: dict[tuple, Any]  # path -> start mark of the value
    key_marks: dict[tuple, Any]  # path -> start mark of the key
    problems: list[Problem]

    def position(self, loc: tuple, key: bool) -> tuple[int | None, int | None]:
        """1-based (line, column) of the key (``key=True``) or value at ``loc``, or its
        parent's."""
        table = self.key_marks if key else self.value_marks
        mark = table.get(loc)
        if mark is None and not key:
            mark = self.value_marks.get(loc)
        probe = loc
        while mark is None and probe:
            probe = probe[:-1]
            mark = self.value_marks.get(probe)
        if mark is None:
            return None, None
        return mark.line + 1, mark.column + 1

    def below(self, prefix: tuple, data: Any) -> Document:
        """The part of this document at ``prefix`` (its ``data``), with the marks under
        ``prefix`` re-rooted there (a scenario inline in a study file, say). No problems."""
        n = len(prefix)
        return Document(
            data,
            {k[n:]: v for k, v in self.value_marks.items() if k[:n] == prefix},
            {k[n:]: v for k, v in self.key_marks.items() if k[:n] == prefix},
            [],
        )


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _flatten_merges(node: yaml.MappingNode) -> None:
    """Resolve the merge keys of a mapping node in place: the pairs of the merged mappings
    first, lowest precedence first (for ``<<: [*a, *b]`` b's, then a's: the first listed
    wins, as the YAML merge-key specification says), then the mapping's own pairs. The same
    layout as PyYAML's ``flatten_mapping``, whose order for a list of merges has differed
    between PyYAML releases, so it is not relied on."""
    own, sources = [], []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE_TAG:
            own.append((key_node, value_node))
        elif isinstance(value_node, yaml.MappingNode):
            sources.append(value_node)
        elif isinstance(value_node, yaml.SequenceNode):
            for sub in value_node.value:
                if not isinstance(sub, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping for merging, but found {sub.id}",
                        sub.start_mark,
                    )
                sources.append(sub)
        else:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"expected a mapping or list of mappings for merging, but found {value_node.id}",
                value_node.start_mark,
            )
    merged = []
    for src in reversed(sources):
        _flatten_merges(src)
        merged.extend(src.value)
    node.value = merged + own


def to_data(root: yaml.Node, file: str) -> Document:
    """Build plain Python data from the node graph, recording every value's and key's mark.

    Scalars become str, int, float, bool or None with YAML 1.1's rules, except that timestamps
    and sexagesimal numbers (``10:30`` is 630 in YAML 1.1) stay as their text: the validators
    read times and LTANs themselves. Duplicate keys are reported (PyYAML keeps the last one
    silently); merge keys (``<<: *base``) are honoured.
    """
    constructor = yaml.SafeLoader("")
    value_marks: dict[tuple, Any] = {}
    key_marks: dict[tuple, Any] = {}
    problems: list[Problem] = []
    scanned: dict[int, bool] = {}

    def has_surrogate(text: str) -> bool:
        # An alias hands the same string to this check once per use (a 400 kB scalar used
        # 10,000 times took seconds to rescan); the nodes keep every string alive while the
        # document is converted, so its id identifies it for that long.
        hit = scanned.get(id(text))
        if hit is None:
            hit = scanned[id(text)] = _SURROGATE.search(text) is not None
        return hit

    def convert(node: yaml.Node, path: tuple) -> Any:
        value_marks.setdefault(path, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            if node.tag not in (_TAG + "map", _TAG + "set", _TAG + "omap"):
                problems.append(
                    problem_at(
                        file,
                        f"unsupported YAML tag {_short_tag(node.tag)}; remove it",
                        node.start_mark,
                        format_location(path),
                    )
                )
            # _flatten_merges puts the merged pairs (``<<: *base``) first, then the mapping's
            # own; a key of its own overrides a merged one (YAML merge-key semantics), and
            # among merged pairs the later one wins (the first mapping of ``<<: [*a, *b]`` is
            # put last).
            own_count = sum(1 for key_node, _ in node.value if key_node.tag != _TAG + "merge")
            try:
                _flatten_merges(node)
            except yaml.YAMLError as exc:
                problems.append(_yaml_problem(exc, file))
                return {}
            pairs = node.value
            merged_count = len(pairs) - own_count
            winner: dict[str, int] = {}  # key -> index of the pair that gives its value
            first_seen: dict[str, Any] = {}  # key -> mark of its first own occurrence
            for index, (key_node, _) in enumerate(pairs):
                own = index >= merged_count
                if not isinstance(key_node, yaml.ScalarNode):
                    if own:
                        problems.append(
                            problem_at(
                                file,
                                "a key must be a plain name, not a mapping or a list",
                                key_node.start_mark,
                                format_location(path),
                            )
                        )
                    continue
                key = key_node.value
                if has_surrogate(key):
                    if own:
                        problems.append(
                            problem_at(
                                file,
                                _SURROGATE_MESSAGE.format(what="this key"),
                                key_node.start_mark,
                                format_location(path + (key,)),
                            )
                        )
                    continue
                if own and key in first_seen:
                    problems.append(
                        problem_at(
                            file,
                            f'duplicate key "{printable(key)}" (first given at line '
                            f"{first_seen[key].line + 1}); keep one of them",
                            key_node.start_mark,
                            format_location(path + (key,)),
                        )
                    )
                    continue
                if own:
                    first_seen[key] = key_node.start_mark
                winner[key] = index
            out: dict[str, Any] = {}
            for index, (key_node, value_node) in enumerate(pairs):
                if not isinstance(key_node, yaml.ScalarNode) or winner.get(key_node.value) != index:
                    continue
                key = key_node.value
                key_marks[path + (key,)] = key_node.start_mark
                out[key] = convert(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag not in (_TAG + "seq", _TAG + "omap", _TAG + "pairs"):
                problems.append(
                    problem_at(
                        file,
                        f"unsupported YAML tag {_short_tag(node.tag)}; remove it",
                        node.start_mark,
                        format_location(path),
                    )
                )
            return [convert(item, path + (i,)) for i, item in enumerate(node.value)]
        tag = node.tag
        if has_surrogate(node.value):
            problems.append(
                problem_at(
                    file,
                    _SURROGATE_MESSAGE.format(what="this value"),
                    node.start_mark,
                    format_location(path),
                )
            )
            return None
        if tag not in _PLAIN_TAGS:
            problems.append(
                problem_at(
                    file,
                    f"unsupported YAML tag {_short_tag(tag)}; write a plain value",
                    node.start_mark,
                    format_location(path),
                )
            )
            return None
        if tag in (_TAG + "str", _TAG + "timestamp") or ":" in node.value:
            return node.value
        try:
            return constructor.construct_object(node)
        except Exception:  # noqa: BLE001 - e.g. "!!int abc"
            problems.append(
                problem_at(
                    file,
                    f"cannot read {clip(node.value)} as {_short_tag(tag)}",
                    node.start_mark,
                    format_location(path),
                )
            )
            return None

    data = convert(root, ())
    if isinstance(data, dict):  # top-level x-* keys hold anchors and notes; the schema skips them
        data = {k: v for k, v in data.items() if not k.startswith(EXTENSION_PREFIX)}
    return Document(data, value_marks, key_marks, problems)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def parse(text: str, file: str, *, empty_message: str, fast: bool = False) -> Document:
    """Compose ``text``, measure it (:func:`check_size`) and convert it (:func:`to_data`).

    ``fast`` tries libyaml first (a scenario is read once per case of a study, so its speed
    counts); a document libyaml refuses is composed again by the pure-Python loader, whose
    messages are the ones reported. Raises :class:`Rejected` for an empty document (with
    ``empty_message``) and for every problem of steps 1-2 of the module docstring.
    """
    root = _compose_fast(text) if fast else None
    if root is not None:
        # same nodes and marks as the reference loader, so the same message; composing
        # again would make a document over the limit cost seconds to refuse (100,000
        # nodes: ~20 s in pure Python)
        check_size(root, file)
    else:
        root = compose(text, file)
        if root is None:
            raise Rejected([problem_at(file, empty_message)])
        check_size(root, file)
    return to_data(root, file)
