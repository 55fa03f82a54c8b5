"""The branch's groups (STAFF-1): exactly the permissions each needs — 営業店担当者 (every
branch member) and 営業店役席者 (the branch's supervisors: also 口座の状態・拘束額, a freeze
or a hold on a court order or a fraud report, which a bank leaves to a 役席)."""

from __future__ import annotations

BRANCH_STAFF_GROUP = "営業店担当者"
SUPERVISOR_GROUP = "営業店役席者"

BRANCH_STAFF_PERMISSIONS = [
    ("accounts", "view_customer"),
    ("accounts", "unlock_credential"),
    ("accounts", "resume_ib"),
    ("accounts", "suspend_ib"),  # SEC-10: a customer who phones the branch (guide: 「…当金庫までご連絡ください」)
    ("accounts", "issue_initial_password"),
    ("accounts", "issue_image_card"),
    ("accounts", "view_account"),
    ("accounts", "post_counter_deposit"),
    ("accounts", "view_branch"),
    ("accounts", "view_journal"),
    ("accounts", "view_entry"),
    ("accounts", "view_accountstatechange"),  # LEDGER-7: who froze and unfroze, from the database
    # LEDGER-6/STAFF-1: the bank's own closing days (臨時休業日); a future one may be deleted,
    # none changed (BankClosingDayAdmin)
    ("accounts", "view_bankclosingday"),
    ("accounts", "add_bankclosingday"),
    ("accounts", "delete_bankclosingday"),
    ("security", "view_auditevent"),
    ("security", "view_credentiallockchange"),  # SEC-8: who locked and unlocked, from the database
    ("security", "view_passkey"),
    ("security", "reset_passkeys"),
    ("notifications", "view_outboxmessage"),
    ("notifications", "retry_outboxmessage"),
    ("notifications", "view_emailaddresschange"),  # NOTE-2: who changed an address, from the database
    ("notifications", "view_noticepreferencechange"),  # NOTE-2: who turned a notice off, from the database
    # XFER-4/8: fees and the bank maximum are managed by branch staff; transfers are read-only
    ("transfers", "view_feeschedule"),
    ("transfers", "manage_fees"),
    ("transfers", "view_transfersettings"),
    ("transfers", "manage_transfer_limit"),
    ("transfers", "view_transfer"),
    ("transfers", "view_outgoingtransfer"),
    ("transfers", "view_bank"),
    # XFER-12: the interbank exchange (files, returns, 入金不能) is branch work
    ("transfers", "exchange_interbank"),
    ("transfers", "view_interbankoutgoingfile"),
    ("transfers", "view_interbankreturn"),
    ("transfers", "view_interbankincomingfile"),
    ("transfers", "view_interbankincomingrecord"),
    # issue 9: 予約振込 by date and state, and the (safe, audited) re-run of a day
    ("transfers", "view_scheduledtransfer"),
    ("transfers", "run_transfer_batch"),
    # SEC-10/XFER-6: a suspended customer cannot log in to cancel; the branch cancels for them
    ("transfers", "cancel_scheduled_transfer"),
    # PAY-2/STAFF-1: billers and the simulator's bills are staff-editable; nothing of Pay-easy
    # is deleted (a biller with payments must stay) and payments are read-only
    ("payeasy", "view_biller"),
    ("payeasy", "add_biller"),
    ("payeasy", "change_biller"),
    ("payeasy", "view_bill"),
    ("payeasy", "add_bill"),
    ("payeasy", "change_bill"),
    ("payeasy", "view_payment"),
]


# walk30 note: nobody in the demo could freeze an account; 役席 do (docs/operations.md)
SUPERVISOR_PERMISSIONS = [*BRANCH_STAFF_PERMISSIONS, ("accounts", "change_account")]


def branch_staff_group_ensure(using: str = "default", **_kwargs):
    """Create or correct both groups (post_migrate, on the database being migrated): their
    permissions are exactly their lists. Returns the branch staff group."""
    from django.contrib.auth.models import Group, Permission

    groups = {}
    for name, permissions in ((BRANCH_STAFF_GROUP, BRANCH_STAFF_PERMISSIONS),
                              (SUPERVISOR_GROUP, SUPERVISOR_PERMISSIONS)):
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = []
        for app_label, codename in permissions:
            permission = (Permission.objects.using(using)
                          .filter(content_type__app_label=app_label, codename=codename).first())
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)
        groups[name] = group
    return groups[BRANCH_STAFF_GROUP]
