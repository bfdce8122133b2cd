"""Query and mutation fields, one module per area; `graphql.schema` composes them."""
