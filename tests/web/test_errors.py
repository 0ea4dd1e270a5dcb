"""Our exceptions map to the right HTTP status and error code."""

from __future__ import annotations

import pytest

from numberplate.errors import NotFoundError, NumberplateError, StoreError
from numberplate.store.tokens import TokenNameError
from numberplate.store.vehicles import RegistryImportError, VehicleExistsError
from numberplate.web.errors import status_for


@pytest.mark.parametrize(("error", "expected"), [
    # Store errors that are the client's doing are not 503 storage_unavailable, as their base class is.
    (VehicleExistsError("96T8557 (tn) is already in the registry"), (409, "vehicle_exists")),
    (TokenNameError("a token name must be 1-100 characters"), (422, "invalid_token_name")),
    (RegistryImportError("line 2: bad year"), (422, "invalid_vehicle")),
    (StoreError("database is locked"), (503, "storage_unavailable")),
    (NotFoundError("no read 4"), (404, "not_found")),
    (NumberplateError("anything else"), (500, "internal_error")),
])
def test_status_for(error: NumberplateError, expected: tuple[int, str]) -> None:
    assert status_for(error) == expected
