"""parasearch: paragraph-cited semantic search over United Nations documents."""

__version__ = "0.1.0"
