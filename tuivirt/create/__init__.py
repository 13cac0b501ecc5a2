"""Making guests: the specs a user fills in and the definitions built from them."""
