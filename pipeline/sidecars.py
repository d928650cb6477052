"""Metadata that arrives beside a file: ``clip.mov.json``, an XMP sidecar (``clip.mov.xmp`` or ``clip.xmp``, as
Adobe tools and cameras write it) and shoot CSVs (``*.csv`` in the same folder: one row per file, a column naming
the file and a column per field). Each is read into plain ``name → value`` mappings; the catalog decides what
fits the schema (``catalog/metadata_values.py: ingest_values``) and keeps aside what does not.

A sidecar that cannot be read never blocks its file: the reason is reported as a value kept aside."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CSV_NAME_COLUMNS = ("file", "filename", "file name", "file_name", "clip", "clip name", "name", "source file")
MAX_SIDECAR = 16 * 1024 * 1024  # bytes: larger "sidecars" are not metadata
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PREFIXES = {  # namespace → the prefix people write (xmpDM:cameraLabel)
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xmp/1.0/DynamicMedia/": "xmpDM",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
}


@dataclass
class Sidecars:
    """What arrived beside one file: mappings by source (``shoot.csv line 4``, ``clip.xmp``, ``clip.mov.json``,
    weakest first), the raw JSON (kept on the version as before), the files to consume with the media, and the
    sidecars that could not be read (source → reason)."""

    given: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    json: dict[str, Any] | None = None
    consumed: list[Path] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)


def read_sidecars(source: Path) -> Sidecars:
    found = Sidecars()
    for label, row in shoot_csv_rows(source, found):
        found.given.append((label, row))
    for xmp in (source.with_name(source.name + ".xmp"), source.with_suffix(".xmp")):
        if xmp.is_file() and xmp != source:
            found.consumed.append(xmp)
            try:
                found.given.append((xmp.name, read_xmp(xmp)))
            except ValueError as exc:
                found.unreadable[xmp.name] = str(exc)
            break
    sidecar = source.with_name(source.name + ".json")
    if sidecar.is_file():
        found.consumed.append(sidecar)
        try:
            data = json.loads(_text(sidecar))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            found.json = {"sidecar_error": f"{sidecar.name}: {exc}"}
            found.unreadable[sidecar.name] = f"not readable JSON: {exc}"
        else:
            if isinstance(data, dict):
                found.json = data
                nested = data.get("metadata")
                found.given.append((sidecar.name, nested if isinstance(nested, dict) else data))
            else:
                found.json = {"sidecar_error": f"{sidecar.name}: not an object"}
                found.unreadable[sidecar.name] = f"expected a JSON object of fields, got {type(data).__name__}"
    return found


def _text(path: Path) -> str:
    if path.stat().st_size > MAX_SIDECAR:
        raise ValueError(f"larger than {MAX_SIDECAR // 1024 // 1024} MB")
    return path.read_text(encoding="utf-8-sig")


# ------------------------------------------------------------------------------------------------------ XMP


def read_xmp(path: Path) -> dict[str, Any]:
    """Every simple property of an XMP packet as ``prefix:Name`` → value (a bag or sequence as a list, an
    alternative language as its default text). ValueError in words when it is not XMP."""
    try:
        text = _text(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path.name}: {exc}") from exc
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise ValueError(f"{path.name}: an XMP packet has no DOCTYPE or entities; refused")
    text = re.sub(r"<\?xpacket[^>]*\?>", "", text).strip()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"{path.name} is not XML: {exc}") from exc
    values: dict[str, Any] = {}
    for description in root.iter(f"{RDF}Description"):
        for name, value in description.attrib.items():  # shorthand: properties as attributes
            key = _prefixed(name)
            if key and not name.startswith(RDF):
                values[key] = value.strip()
        for child in description:
            key = _prefixed(child.tag)
            if key is None:
                continue
            value = _property(child)
            if value not in (None, "", []):
                values[key] = value
    if not values and root.find(f".//{RDF}RDF") is None and root.tag != f"{RDF}RDF":
        raise ValueError(f"{path.name} holds no XMP (no rdf:RDF)")
    return values


def _prefixed(tag: str) -> str | None:
    if not tag.startswith("{"):
        return None
    namespace, local = tag[1:].split("}", 1)
    prefix = PREFIXES.get(namespace)
    return f"{prefix}:{local}" if prefix else local


def _property(element: ET.Element) -> Any:
    for container in ("Bag", "Seq"):
        bag = element.find(f"{RDF}{container}")
        if bag is not None:
            return [(li.text or "").strip() for li in bag.findall(f"{RDF}li") if (li.text or "").strip()]
    alternative = element.find(f"{RDF}Alt")
    if alternative is not None:
        items = alternative.findall(f"{RDF}li")
        default = [li for li in items if li.get(XML_LANG) == "x-default"] or items
        return (default[0].text or "").strip() if default else None
    if len(element):
        return None  # a structure (rdf:Description inside): not a simple value
    return (element.text or "").strip()


# ------------------------------------------------------------------------------------------------- shoot CSV


def shoot_csv_rows(source: Path, found: Sidecars) -> list[tuple[str, dict[str, Any]]]:
    """The rows of the folder's CSV files that name ``source`` (by file name, or name without extension)."""
    rows: list[tuple[str, dict[str, Any]]] = []
    wanted = {source.name.casefold(), source.stem.casefold()}
    for sheet in sorted(source.parent.glob("*.csv")):
        try:
            text = _text(sheet)
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            found.unreadable[sheet.name] = f"cannot read: {exc}"
            continue
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(text.splitlines(), dialect=dialect)
        columns = {(c or "").strip().casefold(): c for c in reader.fieldnames or []}
        name_column = next((columns[c] for c in CSV_NAME_COLUMNS if c in columns), None)
        if name_column is None:
            continue  # not a shoot sheet (no column naming files)
        for line, row in enumerate(reader, start=2):
            if (row.get(name_column) or "").strip().casefold() in wanted:
                values = {k.strip(): (v or "").strip() for k, v in row.items()
                          if k and k != name_column and (v or "").strip()}
                rows.append((f"{sheet.name} line {line}", values))
    return rows
