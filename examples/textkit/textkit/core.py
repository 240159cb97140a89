"""Small text helpers used by the textkit command line."""


def word_count(text: str) -> int:
    """Return the number of whitespace-separated words in ``text``."""
    return len(text.split())


def main() -> None:
    """Read text from stdin and print how many words it has."""
    import sys

    print(word_count(sys.stdin.read()))


if __name__ == "__main__":
    main()
