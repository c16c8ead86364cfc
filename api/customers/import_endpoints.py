"""Bulk import of customers and its template download."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from api.audit.admin_log import record_audit
from api.customers import approval
from api.customers.import_jobs import router as jobs_router
from api.customers.importer import import_customers
from api.customers.schemas import ImportReport
from api.deps import CurrentUser, SessionDep, SettingsDep, TemporalDep
from domain.custom_fields import Entity
from domain.customer_import import COLUMNS, EXAMPLE_ROW
from models import Customer
from services.custom_fields.service import FILTER_PREFIX, rows_for

router = APIRouter()
router.include_router(jobs_router)

_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/import", response_model=ImportReport)
async def import_file(
    request: Request,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(
            description="CSV (UTF-8 or GB18030) or XLSX, not empty, whose header row has a "
            "`name` column (see GET /customers/import-template); other columns as in the template"
        ),
    ],
    dry_run: bool = False,
) -> ImportReport:
    """Validate every row, report duplicates as merge candidates, create the rest (owner: you)."""
    result = await import_customers(
        request.app.state.sessions,
        caller,
        file.file,
        timezone=settings.timezone,
        dry_run=dry_run,
    )
    if not result.dry_run:
        counts = {"rows": result.rows, "created": result.created, "updated": result.updated}
        await record_audit(session, caller, "customer.import", "customer", None, counts)
        await session.commit()
    if result.pending_ids:
        pending = await session.scalars(select(Customer).where(Customer.id.in_(result.pending_ids)))
        await approval.start_approvals(client, settings, list(pending))
    return ImportReport(
        dry_run=result.dry_run,
        rows=result.rows,
        created=result.created,
        updated=result.updated,
        duplicates=result.duplicates,
        errors=result.errors,
    )


def template_bytes(kind: Literal["xlsx", "csv"], extra: Sequence[str] = ()) -> bytes:
    """The header row and one example row; `extra` columns (custom fields) left blank."""
    header = [*COLUMNS, *extra]
    example = [*EXAMPLE_ROW, *("" for _ in extra)]
    if kind == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerow(example)
        # BOM: Excel then opens the Chinese example as UTF-8.
        return text.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("customers")
    sheet.append(header)
    sheet.append(example)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@router.get("/import-template")
async def import_template(
    _: CurrentUser,
    session: SessionDep,
    format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx",
) -> Response:
    """Download the import template (columns, active customer custom fields, an example row)."""
    fields = [d for d in await rows_for(session, Entity.CUSTOMER) if d.active]
    extra = [f"{FILTER_PREFIX}{d.key}" for d in fields]
    media = _XLSX_TYPE if format == "xlsx" else "text/csv; charset=utf-8"
    return Response(
        template_bytes(format, extra),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="customers-template.{format}"'},
    )
