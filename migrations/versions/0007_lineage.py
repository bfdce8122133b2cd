"""Claims that behave like knowledge: agent ownership, honest confidence, draft lookups,
and a numeric reading position on provenance.

- `agents.owned_by`: the agent that runs another (a person and their bot). A review by
  a claim's creator, by an agent the creator owns, or by the creator's owner is a
  self-review: shown, never counted toward the epistemic status.
- `round_significant(x, digits)`: floats are rounded where they are computed (to 6
  significant digits), so 0.85 is not served as 0.8500000000000001.
- `claim_confidence` (and its materialized copy) now leaves self-reviews out, and gives
  both models: SIMPLE (every counted reviewer weighs 1) and TRUST_WEIGHTED (each weighs
  its `trust_score`). The API computes the same figures in `store/confidence.py`.
- `ix_claims_draft`: drafts are few and private; a walk asks "is this candidate
  someone else's draft?" of this small partial index instead of the claim's heap row.
- `provenance.section_index / paragraph_index / sentence_index`: where in the source a
  claim was read, as numbers a PAPER view can order by (the free-text
  `location_in_source` stays beside it).

Revision ID: 0007_lineage
Revises: 0006_identifiers
Create Date: 2026-12-04
"""

from alembic import op

revision = "0007_lineage"
down_revision = "0006_identifiers"
branch_labels = None
depends_on = None

AGENT_OWNERSHIP = """
ALTER TABLE agents ADD COLUMN owned_by uuid REFERENCES agents (id);
CREATE INDEX ix_agents_owned_by ON agents (owned_by);
"""

PROVENANCE_POSITION = """
ALTER TABLE provenance
    ADD COLUMN section_index integer CHECK (section_index >= 0),
    ADD COLUMN paragraph_index integer CHECK (paragraph_index >= 0),
    ADD COLUMN sentence_index integer CHECK (sentence_index >= 0);
CREATE INDEX ix_provenance_source_position
    ON provenance (source_id, section_index, paragraph_index, sentence_index);
"""

DRAFT_INDEX = """
CREATE INDEX ix_claims_draft ON claims (id) INCLUDE (created_by) WHERE status = 'draft';
"""

ROUND_SIGNIFICANT = """
CREATE FUNCTION round_significant(value double precision, digits integer DEFAULT 6)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL OR value = 0 OR value = 'NaN'::double precision
          OR value IN ('Infinity'::double precision, '-Infinity'::double precision)
        THEN value
        ELSE round(value::numeric, digits - 1 - floor(log(abs(value)))::integer)::double precision
    END
$$;
"""

DROP_OLD_VIEWS = """
DROP MATERIALIZED VIEW claims_with_confidence;
DROP VIEW claim_confidence;
"""

# Per claim: every review is counted in review_count; self-reviews are left out of the
# rest. SIMPLE columns weigh each reviewer 1, TRUST_WEIGHTED ones its trust_score.
CONFIDENCE_VIEWS = """
CREATE VIEW claim_confidence AS
SELECT
    c.id AS claim_id,
    count(j.id)::integer AS review_count,
    (count(j.id) FILTER (WHERE j.is_self))::integer AS self_review_count,
    (count(j.id) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'))::integer
        AS endorsement_count,
    (count(j.id) FILTER (WHERE NOT j.is_self AND j.verdict = 'dispute'))::integer
        AS dispute_count,
    round_significant(avg(j.confidence) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'))
        AS mean_endorsement_confidence,
    round_significant(coalesce(sum(j.confidence)
        FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'), 0)) AS endorsement_sum,
    round_significant(coalesce(sum(j.confidence)
        FILTER (WHERE NOT j.is_self AND j.verdict = 'dispute'), 0)) AS dispute_sum,
    round_significant(coalesce(sum(j.weight * j.confidence)
        FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'), 0)) AS endorsement_weight,
    round_significant(coalesce(sum(j.weight * j.confidence)
        FILTER (WHERE NOT j.is_self AND j.verdict = 'dispute'), 0)) AS dispute_weight,
    round_significant(
        sum(j.weight * j.confidence) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse')
        / nullif(sum(j.weight) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'), 0)
    ) AS weighted_mean_endorsement_confidence,
    CASE
        WHEN count(j.id) FILTER (WHERE NOT j.is_self) = 0 THEN 'unverified'
        WHEN count(j.id) FILTER (WHERE NOT j.is_self AND j.verdict = 'dispute') >= 1
         AND count(j.id) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse') >= 1
            THEN 'disputed'
        WHEN nullif(btrim(c.formal_content), '') IS NOT NULL
         AND count(j.id) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse') >= 1
            THEN 'formally_verified'
        WHEN avg(j.confidence) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse') > 0.7
         AND count(j.id) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse')
             > count(j.id) FILTER (WHERE NOT j.is_self AND j.verdict = 'dispute')
            THEN 'endorsed'
        ELSE 'under_review'
    END AS epistemic_status,
    CASE
        WHEN count(j.id) FILTER (WHERE NOT j.is_self) = 0 THEN 'unverified'
        WHEN coalesce(sum(j.weight) FILTER (WHERE NOT j.is_self AND j.verdict = 'dispute'), 0) > 0
         AND coalesce(sum(j.weight) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'), 0) > 0
            THEN 'disputed'
        WHEN nullif(btrim(c.formal_content), '') IS NOT NULL
         AND coalesce(sum(j.weight) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'), 0) > 0
            THEN 'formally_verified'
        WHEN sum(j.weight * j.confidence) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse')
             / nullif(sum(j.weight) FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'), 0)
             > 0.7
         AND coalesce(sum(j.weight * j.confidence)
                 FILTER (WHERE NOT j.is_self AND j.verdict = 'endorse'), 0)
             > coalesce(sum(j.weight * j.confidence)
                 FILTER (WHERE NOT j.is_self AND j.verdict = 'dispute'), 0)
            THEN 'endorsed'
        ELSE 'under_review'
    END AS weighted_epistemic_status
FROM claims c
LEFT JOIN agents creator ON creator.id = c.created_by
LEFT JOIN LATERAL (
    SELECT r.id, r.verdict, r.confidence, greatest(a.trust_score, 0) AS weight,
           coalesce(r.reviewer_id = c.created_by, false)
           OR coalesce(a.owned_by = c.created_by, false)
           OR coalesce(r.reviewer_id = creator.owned_by, false) AS is_self
    FROM reviews r
    JOIN agents a ON a.id = r.reviewer_id
    WHERE r.claim_id = c.id
) j ON TRUE
GROUP BY c.id;

CREATE MATERIALIZED VIEW claims_with_confidence AS
SELECT * FROM claim_confidence;
CREATE UNIQUE INDEX ux_claims_with_confidence_claim_id ON claims_with_confidence (claim_id);
CREATE INDEX ix_claims_with_confidence_status ON claims_with_confidence (epistemic_status);
"""

# The views as revision 0001 made them.
OLD_CONFIDENCE_VIEWS = """
CREATE VIEW claim_confidence AS
SELECT
    c.id AS claim_id,
    count(r.id)::integer AS review_count,
    (count(r.id) FILTER (WHERE r.verdict = 'endorse'))::integer AS endorsement_count,
    (count(r.id) FILTER (WHERE r.verdict = 'dispute'))::integer AS dispute_count,
    avg(r.confidence) FILTER (WHERE r.verdict = 'endorse') AS mean_endorsement_confidence,
    CASE
        WHEN count(r.id) = 0 THEN 'unverified'
        WHEN count(r.id) FILTER (WHERE r.verdict = 'dispute') >= 1
         AND count(r.id) FILTER (WHERE r.verdict = 'endorse') >= 1 THEN 'disputed'
        WHEN nullif(btrim(c.formal_content), '') IS NOT NULL
         AND count(r.id) FILTER (WHERE r.verdict = 'endorse') >= 1 THEN 'formally_verified'
        WHEN avg(r.confidence) FILTER (WHERE r.verdict = 'endorse') > 0.7
         AND count(r.id) FILTER (WHERE r.verdict = 'endorse')
             > count(r.id) FILTER (WHERE r.verdict = 'dispute') THEN 'endorsed'
        ELSE 'under_review'
    END AS epistemic_status
FROM claims c
LEFT JOIN reviews r ON r.claim_id = c.id
GROUP BY c.id;

CREATE MATERIALIZED VIEW claims_with_confidence AS
SELECT * FROM claim_confidence;
CREATE UNIQUE INDEX ux_claims_with_confidence_claim_id ON claims_with_confidence (claim_id);
CREATE INDEX ix_claims_with_confidence_status ON claims_with_confidence (epistemic_status);
"""


def upgrade() -> None:
    op.execute(AGENT_OWNERSHIP)
    op.execute(PROVENANCE_POSITION)
    op.execute(DRAFT_INDEX)
    op.execute(ROUND_SIGNIFICANT)
    op.execute(DROP_OLD_VIEWS)
    op.execute(CONFIDENCE_VIEWS)


def downgrade() -> None:
    op.execute(DROP_OLD_VIEWS)
    op.execute(OLD_CONFIDENCE_VIEWS)
    op.execute("DROP FUNCTION round_significant(double precision, integer)")
    op.execute("DROP INDEX ix_claims_draft")
    op.execute(
        "DROP INDEX ix_provenance_source_position;"
        " ALTER TABLE provenance DROP COLUMN section_index, DROP COLUMN paragraph_index,"
        " DROP COLUMN sentence_index"
    )
    op.execute("DROP INDEX ix_agents_owned_by; ALTER TABLE agents DROP COLUMN owned_by")
