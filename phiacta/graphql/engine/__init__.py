"""The execution engine: how a GraphQL request becomes an answer.

The schema (types and fields in `phiacta.graphql`) says *what* the API is; this
package says *how* a request runs. An HTTP query flows like this:

1. `graphql.view` authenticates, reads the body and takes the rate limit, then hands
   the document to `operations.PreparedOperations`.
2. `operations` parses and validates each (document, operation name) once, with the
   depth, alias, introspection and cost limits of `limits`; per request it checks only
   the cost (it depends on variables).
3. A query the read planner covers (`planner`) is answered by one SQL statement, made
   once per document by `phiacta.store.planner_sql` and prepared: PostgreSQL builds
   the `data` JSON and the view sends its text through untouched.
4. Any other query runs from a plan of `compiled` (resolvers called without
   graphql-core's per-field overhead; `plain_lists` completes lists of plain rows), and
   anything `compiled` does not cover, or any run that meets an error, runs through
   graphql-core, whose answer is the reference. `variables` coerces variables once per
   input type.

Subscriptions take the WebSocket path: `live_transport` authenticates at
`connection_init` and keeps the socket alive; `live_sharing` executes an event once per
group of identical subscriptions and encodes it once.
"""
