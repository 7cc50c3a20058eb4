"""The API's resources, one class per resource, for `Client` (`sync`) and `AsyncClient`
(`async_`); the requests they make are built once, in `_calls`."""
