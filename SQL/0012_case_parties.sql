-- Case parties (domain rules section 11): the collateral's owner where it is not the
-- borrower (a surplus is refunded to it), and the ID numbers of people related to the
-- consignor, who may not bid on the case's lots. Guarantors' and juniors' addresses and a
-- junior's demand day live in the existing jsonb documents.
ALTER TABLE cases ADD COLUMN collateral_owner jsonb;
ALTER TABLE cases ADD COLUMN excluded_id_numbers jsonb NOT NULL DEFAULT '[]';
