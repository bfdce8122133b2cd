"""The write path's orchestration, as plain Python the GraphQL resolvers and the CLI share.

`spec` is a bundle as plain data, `validate` finds every problem in it with its path,
`submit` writes it atomically and idempotently, `embedding` makes vectors for claims
being written (and fills in the ones a failed provider left empty).
"""
