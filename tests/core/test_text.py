"""What convgrad did not write is shown as one line that every terminal, JSON
reader and XML parser takes, with nothing hidden."""

import json
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from convgrad_cli.core.text import describe, printable, printable_lines


def test_each_unsafe_character_is_an_escape_of_what_it_was():
    assert printable("a\ud800b") == "a\\ud800b"  # a lone surrogate: its code
    assert printable("caf\udce9") == "caf\\xe9"  # a byte that was not UTF-8: that byte
    assert printable("\x1b[2J\x00\x7f\x85") == "\\x1b[2J\\x00\\x7f\\x85"
    assert printable("one\ntwo\rthree\tfour") == "one\\ntwo\\rthree\tfour"
    assert printable("\u202eevil\u2028x") == "\\u202eevil\\u2028x"
    assert printable("∂L/∂x = w1·δ1 ✓") == "∂L/∂x = w1·δ1 ✓"  # what is safe stays as it is
    assert printable_lines("a\nb\x1bc\n") == "a\nb\\x1bc\n"


def test_a_long_message_is_cut_and_says_by_how_much():
    assert printable("x" * 2005) == "x" * 2000 + "… (5 more characters)"
    assert printable("é" * 3, limit=2) == "éé… (1 more characters)"


def test_an_exception_whose_message_cannot_be_read_is_named_by_its_type():
    class Broken(Exception):
        def __str__(self) -> str:
            raise KeyboardInterrupt

    assert describe(Broken()) == "Broken (its message could not be read)"
    assert describe(ValueError("bad \ud800")) == "ValueError: bad \\ud800"
    assert describe(KeyboardInterrupt()) == "KeyboardInterrupt"


@given(st.text(alphabet=st.characters(codec=None), max_size=300))
def test_anything_becomes_one_line_that_utf8_json_and_xml_take(text):
    safe = printable(text)
    safe.encode("utf-8")  # no lone surrogate left
    assert "\n" not in safe and "\r" not in safe
    assert json.loads(json.dumps(safe, ensure_ascii=False)) == safe
    element = ET.fromstring(ET.tostring(ET.Element("e", message=safe), encoding="unicode"))
    assert element.get("message") == safe
    if text.isprintable() and len(text) <= 2000:
        assert safe == text  # only what a reader could not see, or a parser take, changes
