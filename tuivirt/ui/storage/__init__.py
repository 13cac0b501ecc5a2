"""The storage view (`P`): every host's pools, the volumes of the one under the cursor."""
