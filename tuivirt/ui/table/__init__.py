"""The guest table: rows, sorting, grouping, marks, the filter and the host panel."""
