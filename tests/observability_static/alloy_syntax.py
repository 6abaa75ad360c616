"""Alloy configuration syntax, read far enough to check a file offline.

Tokenises and parses blocks, attributes and expressions (strings, raw strings, numbers, lists,
objects, references, calls, operators). Alloy's own parser is the authority; this one exists
because no Alloy binary runs on the test machines.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias


class AlloySyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "string", "number", "punct"
    text: str
    line: int


@dataclass(frozen=True)
class Ref:
    path: str
    line: int


@dataclass(frozen=True)
class Call:
    func: "Value"
    args: list["Value"]


@dataclass(frozen=True)
class Op:
    operands: list["Value"]


Value: TypeAlias = str | float | bool | Ref | Call | Op | list["Value"] | dict[str, "Value"] | None


@dataclass
class Block:
    name: str
    label: str | None
    line: int
    attributes: dict[str, Value] = field(default_factory=dict)
    blocks: list["Block"] = field(default_factory=list)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"[0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%", "^", "<", ">", "!")
_PUNCT = "{}[](),=."


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise AlloySyntaxError(f"line {line}: unterminated /* comment")
            line += text.count("\n", i, end)
            i = end + 2
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\n":
                    raise AlloySyntaxError(f"line {line}: unterminated string")
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise AlloySyntaxError(f"line {line}: unterminated string")
            tokens.append(Token("string", text[i + 1 : j], line))
            i = j + 1
        elif c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise AlloySyntaxError(f"line {line}: unterminated raw string")
            tokens.append(Token("string", text[i + 1 : end], line))
            line += text.count("\n", i, end)
            i = end + 1
        elif match := _IDENT.match(text, i):
            tokens.append(Token("ident", match.group(), line))
            i = match.end()
        elif match := _NUMBER.match(text, i):
            tokens.append(Token("number", match.group(), line))
            i = match.end()
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None and c not in _PUNCT:
                raise AlloySyntaxError(f"line {line}: unexpected character {c!r}")
            tokens.append(Token("punct", op or c, line))
            i += len(op or c)
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset: int = 0) -> Token | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1].line if self.tokens else 1
            raise AlloySyntaxError(f"line {last}: unexpected end of file (missing '}}'?)")
        self.pos += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.take()
        if token.kind not in ("punct",) or token.text != text:
            raise AlloySyntaxError(f"line {token.line}: expected {text!r}, found {token.text!r}")
        return token

    def is_punct(self, text: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "punct" and token.text == text

    def file(self) -> list[Block]:
        blocks = []
        while self.peek() is not None:
            item = self.item()
            if not isinstance(item, Block):
                raise AlloySyntaxError(f"line {item[2]}: attribute {item[0]!r} outside a block")
            blocks.append(item)
        return blocks

    def item(self) -> "Block | tuple[str, Value, int]":
        name = self.take()
        if name.kind != "ident":
            raise AlloySyntaxError(
                f"line {name.line}: expected a block or attribute, found {name.text!r}"
            )
        if self.is_punct("="):
            if "." in name.text:
                raise AlloySyntaxError(f"line {name.line}: invalid attribute name {name.text!r}")
            self.take()
            return (name.text, self.expression(), name.line)
        label = None
        following = self.peek()
        if following is not None and following.kind == "string":
            label = self.take().text
        if not self.is_punct("{"):
            found = self.peek()
            raise AlloySyntaxError(
                f"line {name.line}: expected '=' or '{{' after {name.text!r}, "
                f"found {found.text if found else 'end of file'!r}"
            )
        self.take()
        block = Block(name.text, label, name.line)
        while not self.is_punct("}"):
            if self.peek() is None:
                raise AlloySyntaxError(f"line {name.line}: block {name.text!r} is never closed")
            item = self.item()
            if isinstance(item, Block):
                block.blocks.append(item)
            else:
                if item[0] in block.attributes:
                    raise AlloySyntaxError(f"line {item[2]}: attribute {item[0]!r} set twice")
                block.attributes[item[0]] = item[1]
        self.take()
        return block

    def expression(self) -> Value:
        operands = [self.unary()]
        while (
            (token := self.peek()) is not None
            and token.kind == "punct"
            and token.text in _OPERATORS
        ):
            if token.text == "!":
                break
            self.take()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else Op(operands)

    def unary(self) -> Value:
        if self.is_punct("!") or self.is_punct("-"):
            self.take()
            return Op([self.unary()])
        value = self.primary()
        while True:
            if self.is_punct("("):
                self.take()
                args = self.sequence(")")
                value = Call(value, args)
            elif self.is_punct("["):
                self.take()
                index = self.expression()
                self.expect("]")
                value = Op([value, index])
            elif self.is_punct("."):
                self.take()
                member = self.take()
                if member.kind != "ident":
                    raise AlloySyntaxError(f"line {member.line}: expected a field name after '.'")
                value = Op([value, member.text])
            else:
                return value

    def sequence(self, closing: str) -> list[Value]:
        items: list[Value] = []
        while not self.is_punct(closing):
            items.append(self.expression())
            if self.is_punct(","):
                self.take()
            elif not self.is_punct(closing):
                token = self.take()
                raise AlloySyntaxError(
                    f"line {token.line}: expected ',' or {closing!r}, found {token.text!r}"
                )
        self.take()
        return items

    def primary(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return token.text
        if token.kind == "number":
            return float(token.text.replace("_", ""))
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return token.text == "true"
            if token.text == "null":
                return None
            return Ref(token.text, token.line)
        if token.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.text == "[":
            return self.sequence("]")
        if token.text == "{":
            return self.object()
        raise AlloySyntaxError(f"line {token.line}: unexpected {token.text!r} in an expression")

    def object(self) -> dict[str, Value]:
        fields: dict[str, Value] = {}
        while not self.is_punct("}"):
            key = self.take()
            if key.kind not in ("ident", "string") or (key.kind == "ident" and "." in key.text):
                raise AlloySyntaxError(f"line {key.line}: invalid object key {key.text!r}")
            self.expect("=")
            fields[key.text] = self.expression()
            if self.is_punct(","):
                self.take()
            elif not self.is_punct("}"):
                token = self.take()
                raise AlloySyntaxError(
                    f"line {token.line}: expected ',' or '}}', found {token.text!r}"
                )
        self.take()
        return fields


def parse(text: str) -> list[Block]:
    return _Parser(tokenize(text)).file()


def references(value: Value) -> Iterator[Ref]:
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, Call):
        # A called name is a function (sys.env, encoding.from_json, ...), not a component export.
        if not isinstance(value.func, Ref):
            yield from references(value.func)
        for arg in value.args:
            yield from references(arg)
    elif isinstance(value, Op):
        for operand in value.operands:
            yield from references(operand)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from references(item)


def walk(blocks: list[Block]) -> Iterator[Block]:
    for block in blocks:
        yield block
        yield from walk(block.blocks)
