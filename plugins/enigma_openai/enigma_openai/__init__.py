"""enigma-openai: tasks answered by OpenAI-compatible model servers, declared in config.json.

Importing the package is cheap: the HTTP client (httpx) is imported only when a task runs.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
