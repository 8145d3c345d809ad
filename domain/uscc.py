"""The unified social credit code (统一社会信用代码, USCC) of GB 32100-2015.

18 characters: registration authority (1), organisation type (1), administrative division (6
digits), organisation code (9, GB 11714) and a check character computed over the first 17.
The alphabet is the digits and the capital letters without I, O, S, V and Z.
"""

from __future__ import annotations

from domain.text import N_, MarkedError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
# Weight of position i (0-based) is 3**i mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(LENGTH - 1))
_VALUE = {ch: n for n, ch in enumerate(ALPHABET)}


def normalize_uscc(code: str) -> str:
    """Trims blanks and upper-cases (people type the letters in either case)."""
    return code.strip().upper()


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    if len(first17) != LENGTH - 1:
        raise ValueError(f"need {LENGTH - 1} characters, got {len(first17)}")
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """What is wrong with ``code`` (already normalized), or None when it is a valid USCC."""
    error = uscc_error(code)
    return None if error is None else str(error)


def uscc_error(code: str) -> MarkedError | None:
    """``uscc_problem`` as a marked message, so that a page can show it in its reader's
    language (its ``str()`` is the English sentence)."""
    if len(code) != LENGTH:
        return MarkedError(
            N_("a unified social credit code has %(length)s characters; %(code)s has %(count)s"),
            length=LENGTH,
            code=repr(code),
            count=len(code),
        )
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return MarkedError(
            N_(
                "%(code)s contains %(bad)s: a unified social credit code uses digits and "
                "capital letters except I, O, S, V and Z"
            ),
            code=repr(code),
            bad=", ".join(repr(c) for c in bad),
        )
    if not code[2:8].isdigit():
        return MarkedError(
            N_("%(code)s: characters 3 to 8 (the administrative division code) must be digits"),
            code=repr(code),
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return MarkedError(
            N_(
                "%(code)s has a wrong check character: the last character should be "
                "%(expected)s for the first 17, not %(found)s; check the code on the business "
                "licence"
            ),
            code=repr(code),
            expected=repr(expected),
            found=repr(code[17]),
        )
    return None


def is_valid_uscc(code: str) -> bool:
    """True for a well-formed code with the right check character."""
    return uscc_problem(normalize_uscc(code)) is None
