"""Assemble a budgeting process's certified package from the database.

``process_data`` gathers everything the package says (reads only); ``build_budgeting_package``
is pure and CPU-bound (it writes the ``.pb`` files, the certificate and signs), so the service
runs it in a worker thread. Each district's stored outcome is re-counted from the stored input
before it is published: a result altered in the database would stop the certification here.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from pb import audit
from pb.processes import Process, ProcessService, canonical_config
from pb.settings import Settings
from results.certificate import certificate_html, certificate_pdf, summary
from results.contents import DistrictData, ProcessData, budgeting_files
from results.models import ProcessResult
from results.package import build_package, manifest_digest
from results.signing import public_key_hex

__all__ = ["build_budgeting_package", "process_data"]


async def process_data(
    session: AsyncSession,
    settings: Settings,
    process: Process,
    result: ProcessResult,
    now: datetime,
) -> ProcessData:
    from ballots.export import ballot_rows
    from results.service import ResultService, phase_dates, recount

    service = ResultService(session, settings)
    view = await service.view(process.id, public=False)
    districts = await ProcessService(session, settings).districts(process.id)
    begin, end = await phase_dates(session, process.id)
    items = []
    for district, row in view.districts:
        election, outcome = recount(result, row)
        items.append(
            DistrictData(
                slug=district.slug,
                name=district.name,
                budget=district.budget,
                election=election,
                outcome=outcome,
                input_sha256=row.input_sha256,
                channels=row.channels_dict,
                rows=await ballot_rows(session, process.id, district.id),
            )
        )
    return ProcessData(
        id=process.id,
        name=process.name,
        slug=process.slug,
        currency=process.currency,
        rule_id=result.rule_id,
        rule_params=result.rule_params_dict,
        tie_break=result.tie_break,
        frozen_hash=result.frozen_hash,
        config=canonical_config(process, districts),
        software_version=result.software_version,
        country=result.country,
        unit=result.unit,
        date_begin=begin,
        date_end=end,
        audit_head=await audit.head_hash(session),
        audit_entries=await audit.count_entries(session),
        certified_at=now,
        signers=[
            {"name": name, "signed_at": s.signed_at.strftime("%Y-%m-%d %H:%M UTC")}
            for s, name in await service.signoffs(process.id)
        ],
        districts=items,
    )


def build_budgeting_package(data: ProcessData, settings: Settings) -> tuple[bytes, str]:
    """The signed zip and the SHA-256 of its manifest."""
    files = budgeting_files(data)
    digests = {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
    facts = summary(data, digests, public_key_hex(settings))
    files["certificate.html"] = certificate_html(facts)
    files["certificate.pdf"] = certificate_pdf(facts)
    package = build_package(
        files,
        {
            "kind": "budgeting",
            "process": {"id": data.id, "name": data.name, "slug": data.slug},
            "software_version": data.software_version,
            "audit_head_hash": data.audit_head,
        },
        settings,
        created_at=data.certified_at,
    )
    return package, manifest_digest(package)
