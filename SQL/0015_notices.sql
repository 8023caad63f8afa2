-- Notices of disposition and the judicial rules made whole (domain rules sections 4, 11).
--
-- A notice per party of a case, in the language it was rendered in, with the facts it
-- stated frozen (what was printed is what the party was told), and when it was sent.
-- A lot may not start before the notice period has run (checked by the application
-- when the lot is created, from the last notice's sent_at).
CREATE TABLE notices (
    id          uuid PRIMARY KEY,
    seq         bigserial UNIQUE,
    case_id     uuid NOT NULL REFERENCES cases (id),
    party       text NOT NULL CHECK (party IN ('borrower', 'guarantor', 'lienholder', 'owner')),
    kind        text NOT NULL CHECK (kind IN ('disposition', 'judicial-auction')),
    lang        text NOT NULL CHECK (lang IN ('en', 'zh-CN')),
    content     jsonb NOT NULL,
    sent_at     timestamptz NOT NULL,
    sent_by     uuid NOT NULL REFERENCES users (id)
);
CREATE INDEX notices_case ON notices (case_id, sent_at DESC);

-- When bidders may see a lot: from its creation where the lot is a judicial public
-- announcement (拍卖公告); NULL: seven days before it opens (the catalogue).
ALTER TABLE lots ADD COLUMN public_from timestamptz;

-- prc-judicial allows at most two auctions before the fixed-price sale (变卖); a
-- judicial policy stored with more reads back as two, so that it validates.
UPDATE consignors SET policy = jsonb_set(policy, '{pricing,maxRounds}', '2')
WHERE policy ->> 'ruleset' = 'prc-judicial' AND (policy -> 'pricing' ->> 'maxRounds')::integer > 2;
