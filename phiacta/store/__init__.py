"""All SQL of the application, one module per aggregate.

Functions take an open async connection (from the pool, or one already inside a
transaction) and return typed rows. Nothing here knows about GraphQL or HTTP.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

Connection = psycopg.AsyncConnection[TupleRow]

__all__ = ["Connection"]
