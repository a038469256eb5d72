"""The AWS Organizations and EC2 reads an organization-wide run makes: the member
accounts (all, or those under organizational units, recursively) and the regions each
account has enabled, with pagination, retries and error classes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ecrscan.aws.gateway import Gateway
from ecrscan.core.errors import AwsError
from ecrscan.core.organization import Account
from ecrscan.core.problem import Problem

PAGE_SIZE = 20  # ListAccounts / ListAccountsForParent: at most 20 a page
PARENT_NOT_FOUND = "ParentNotFoundException"  # an --ou (or root) id the organization lacks


class OrganizationsGateway(Gateway):
    """Owns the Organizations client of the caller (the management account or a
    delegated administrator)."""

    SERVICE = "organizations"

    def accounts(self, ous: Sequence[str] = ()) -> Iterator[Account]:
        """Every account of the organization (ListAccounts), or every account under the
        organizational units ``ous`` and their children (ListAccountsForParent and
        ListOrganizationalUnitsForParent), each as often as it is found.  A unit the
        organization does not have raises :data:`PARENT_NOT_FOUND`, naming it."""
        if not ous:
            yield from self._accounts("list_accounts")
            return
        pending, seen = list(ous), set()
        while pending:
            parent = pending.pop(0)
            if parent in seen:
                continue
            seen.add(parent)
            try:
                yield from self._accounts("list_accounts_for_parent", ParentId=parent)
                pending.extend(self._children(parent))
            except AwsError as exc:
                if exc.problem.code != PARENT_NOT_FOUND:
                    raise
                what = "root" if parent.startswith("r-") else "organizational unit"
                missing = Problem(
                    PARENT_NOT_FOUND, f"the {what} {parent} does not exist in the organization"
                )
                raise AwsError(exc.kind, missing, exc.operation) from exc

    def _children(self, parent: str) -> Iterator[str]:
        for page in self._pages(
            self._read, "list_organizational_units_for_parent", token="NextToken", ParentId=parent
        ):
            yield from (ou["Id"] for ou in page.get("OrganizationalUnits", []))

    def _accounts(self, operation: str, **params: Any) -> Iterator[Account]:
        for page in self._pages(
            self._read, operation, token="NextToken", MaxResults=PAGE_SIZE, **params
        ):
            for item in page.get("Accounts", []):
                yield Account(
                    id=str(item.get("Id", "")),
                    name=str(item.get("Name", "")),
                    status=str(item.get("State") or item.get("Status") or ""),
                )


class RegionsGateway(Gateway):
    """Owns an EC2 client of one account, for DescribeRegions."""

    SERVICE = "ec2"

    def enabled_regions(self) -> tuple[str, ...]:
        """The regions the account has enabled (opted in, or needing no opt-in), sorted."""
        response = self._call(self._read, "describe_regions", AllRegions=False)
        names = {
            str(r["RegionName"])
            for r in response.get("Regions", [])
            if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"
        }
        return tuple(sorted(names))
