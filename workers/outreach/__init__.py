"""The outreach agent: personalised email and LinkedIn drafts from contact, account and event."""
