"""The project's transforms: a package per product (transforms/<product>/, its @model
functions) and transforms/common/, the code products share (lakehouse.transform.models)."""
