"""A second process for the backup test: adds companies with an attachment each, one
transaction per attachment, and prints each attachment's stored name once committed."""

from __future__ import annotations

import sys
import time


def main(target: str, seconds: float) -> None:
    from crm_tui.models import User
    from crm_tui.services import attachments
    from crm_tui.services.context import Clock, Session
    from crm_tui.services.database import open_and_prepare
    from crm_tui.services.records import get_kind

    open_and_prepare(target)
    admin = Session(User.get(User.login == "admin"), Clock())
    companies = get_kind("company")
    end = time.monotonic() + seconds
    number = 0
    while time.monotonic() < end:
        number += 1
        company = companies.create(admin, {"name": f"Writer {number}"})
        attachment = attachments.add(admin, "company", company, f"doc{number}.txt",
                                     f"content of company {company}".encode())
        from crm_tui.models import Attachment

        stored = Attachment.get_by_id(attachment).stored_name
        print(f"{company} {stored}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
