-- Back to 0017: the history table itself is dropped by the migration's DeleteModel.
DROP TRIGGER ledger_account_state_insert ON accounts_account;
DROP TRIGGER ledger_account_state_update ON accounts_account;
DROP FUNCTION ledger_account_state_record();
