#!/usr/bin/env python3
"""A man page (man(7) macros) for a swift-argument-parser command, from what the command itself
says of its arguments (`COMMAND --experimental-dump-help`, the JSON that swift-argument-parser's
generate-manual tool reads), plus, for tofu-rpc, the protocol sections of README.md.

    manpage.py TOOL [--readme README.md] [--date YYYY-MM-DD] > TOOL.1

Why not the generate-manual plugin itself: it builds the whole package again in its own build
and cannot run while `swift test` holds .build, so neither `make install` of a build already
made nor its test could use it. This renders the same dump-help JSON; `man -l` checks the page.
"""
import argparse, json, re, subprocess, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("tool", help="the executable to describe")
parser.add_argument("--readme", help="README.md, for tofu-rpc's protocol sections")
parser.add_argument("--date", default=time.strftime("%Y-%m-%d", time.gmtime()))
options = parser.parse_args()

dump = subprocess.run([options.tool, "--experimental-dump-help"], check=True, capture_output=True, text=True).stdout
root = json.loads(dump)["command"]
name = root["commandName"]
out = []


def escape(text):
    """Plain text for roff: backslashes written as \\e, no line starting as a request."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def line(text):
    """One output line of text: a leading dot or quote is kept as text."""
    return "\\&" + text if text[:1] in (".", "'") else text


def inline(markdown):
    """Markdown's inline marks as roff fonts: `code` and **bold** in bold, links as their text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown)
    pieces = re.split(r"(`[^`]*`|\*\*[^*]+\*\*)", text)
    result = ""
    for piece in pieces:
        if piece.startswith("`") and piece.endswith("`") and len(piece) >= 2:
            result += "\\fB" + escape(piece[1:-1]) + "\\fR"
        elif piece.startswith("**") and piece.endswith("**"):
            result += "\\fB" + escape(piece[2:-2]) + "\\fR"
        else:
            result += escape(piece)
    return result


def prose(text):
    """A discussion: paragraphs of text, and indented lines (examples) kept as they are."""
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        runs = []
        for l in block.split("\n"):
            indented = l.startswith("  ")
            if runs and runs[-1][0] == indented:
                runs[-1][1].append(l)
            else:
                runs.append((indented, [l]))
        for indented, lines in runs:
            if indented:
                out.extend([".PP", ".RS 4", ".nf"] + [line(escape(l[2:])) for l in lines] + [".fi", ".RE"])
            else:
                out.append(".PP")
                out.extend(line(escape(l)) for l in lines)


def names(argument):
    listed = []
    for n in argument.get("names", []):
        listed.append(("-" if n["kind"] in ("short", "longWithSingleDash") else "--") + n["name"])
    return listed


def synopsis(command, path):
    words = ["\\fB" + escape(path) + "\\fR"]
    for argument in command.get("arguments", []):
        if not argument.get("shouldDisplay", True) or argument.get("valueName") == "help":
            continue
        if argument["kind"] == "positional":
            word = "\\fI" + escape(argument["valueName"]) + "\\fR"
        else:
            word = "\\fB" + escape(names(argument)[0]) + "\\fR"
            if argument["kind"] == "option":
                word += " \\fI" + escape(argument["valueName"]) + "\\fR"
        if argument.get("isRepeating"):
            word += " ..."
        words.append("[" + word + "]" if argument.get("isOptional") else word)
    return " ".join(words)


def arguments(command):
    for argument in command.get("arguments", []):
        if not argument.get("shouldDisplay", True):
            continue
        if argument["kind"] == "positional":
            label = "\\fI" + escape(argument["valueName"]) + "\\fR"
        else:
            label = ", ".join("\\fB" + escape(n) + "\\fR" for n in names(argument))
            if argument["kind"] == "option":
                label += " \\fI" + escape(argument["valueName"]) + "\\fR"
        out.extend([".TP", label])
        text = argument.get("abstract", "")
        if argument.get("defaultValue") not in (None, "") and argument["kind"] == "option":
            text += " (default: " + argument["defaultValue"] + ")"
        out.append(line(escape(text)))


def subcommands(command, path):
    for sub in command.get("subcommands", []):
        if sub["commandName"] == "help" or not sub.get("shouldDisplay", True):
            continue
        full = path + " " + sub["commandName"]
        if sub.get("subcommands"):
            subcommands(sub, full)
            continue
        out.extend([".SS " + '"' + escape(full) + '"', line(escape(sub.get("abstract", ""))), ".PP", synopsis(sub, full)])
        if sub.get("discussion"):
            prose(sub["discussion"])
        arguments(sub)


def readme_section(readme, heading):
    """The text under a Markdown heading (any level), up to the next heading of that level or above."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = readme.split("\n")
    start = next(i for i, l in enumerate(lines) if l.strip() == heading)
    body = []
    for l in lines[start + 1:]:
        match = re.match(r"(#+) ", l)
        if match and len(match.group(1)) <= level:
            break
        body.append(l)
    return body


def markdown(body):
    """README Markdown as roff: paragraphs, bullets, tables (one tagged paragraph per row), code."""
    in_code = False
    in_bullet = False
    paragraph = []

    def flush():
        if paragraph:
            out.append(".PP")
            out.extend(line(inline(l)) for l in paragraph)
            paragraph.clear()

    for raw in body:
        if raw.startswith("```"):
            flush()
            out.extend([".PP", ".RS 4", ".nf"] if not in_code else [".fi", ".RE"])
            in_code = not in_code
            continue
        if in_code:
            out.append(line(escape(raw)))
            continue
        if not raw.strip():
            flush()
            in_bullet = False
            continue
        if in_bullet and raw.startswith("  "):
            out.append(line(inline(raw.strip())))
            continue
        in_bullet = False
        if raw.startswith("|"):
            flush()
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", raw.strip())[1:-1]]
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            out.extend([".TP", line(inline(cells[0])), line(inline(" \u2014 ".join(c for c in cells[1:] if c)))])
            continue
        bullet = re.match(r"\s*[-*] (.*)", raw)
        if bullet:
            flush()
            out.extend([".IP \\(bu 2", line(inline(bullet.group(1)))])
            in_bullet = True
            continue
        if re.match(r"#+ ", raw):
            flush()
            out.append(".SS " + '"' + inline(raw.lstrip("#").strip()) + '"')
            continue
        paragraph.append(raw.strip())
    flush()


visible = [sub for sub in root.get("subcommands", []) if sub["commandName"] != "help" and sub.get("shouldDisplay", True)]
out.append('.TH "%s" 1 "%s" "tofu" "User Commands"' % (escape(name.upper()), options.date))
out.extend([".SH NAME", line(escape(name) + " \\- " + escape(root.get("abstract", "")))])
out.extend([".SH SYNOPSIS", synopsis(root, name) + (" \\fIcommand\\fR ..." if visible else "")])
out.append(".SH DESCRIPTION")
prose(root.get("discussion", root.get("abstract", "")))
if visible:
    out.append(".SH COMMANDS")
    subcommands(root, name)
else:
    out.append(".SH OPTIONS")
    arguments(root)

if options.readme and name == "tofu-rpc":
    readme = open(options.readme, encoding="utf-8").read()
    for title, heading in [("PROTOCOL", "## Talking to tofu-rpc"), ("METHODS", "## Methods")]:
        out.append(".SH " + title)
        markdown(readme_section(readme, heading))
    out.extend([".SH ENVIRONMENT", ".TP", "\\fBTOFU_STORE\\fR", "The store when \\fB\\-\\-store\\fR is not given (a file, or a postgresql:// URI).",
                ".TP", "\\fBTOFU_LOG_LEVEL\\fR", "The log level when \\fB\\-\\-log\\-level\\fR is not given (default notice: every trust decision is logged on stderr).",
                ".TP", "\\fBTOFU_LIBPQ\\fR", "The libpq to load for a PostgreSQL store (a path, or a name the dynamic loader searches for; default libpq.so.5). SQLite stores never load it."])
    out.extend([".SH SEE ALSO", "\\fBtofu\\fR(1)"])
else:
    out.extend([".SH ENVIRONMENT", ".TP", "\\fBTOFU_STORE\\fR", "The store when \\fB\\-\\-store\\fR is not given.",
                ".TP", "\\fBTOFU_RPC\\fR", "The tofu\\-rpc to start when \\fB\\-\\-server\\-path\\fR is not given.",
                ".TP", "\\fBTOFU_LOG_LEVEL\\fR", "The log level of that tofu\\-rpc (default warning: the command reports its own result)."])
    out.extend([".SH SEE ALSO", "\\fBtofu\\-rpc\\fR(1)"])

sys.stdout.write("\n".join(out) + "\n")
