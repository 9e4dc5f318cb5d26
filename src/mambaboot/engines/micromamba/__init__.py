"""The micromamba engine: the pinned binary (``binary``, ``channel``), its create, its fixes."""
