"""Validates FHIR JSON files with fhir.resources (R4B models): the oracle for the hub's FHIR output.

Usage: python validate_fhir.py FILE...   Each file holds one resource; exits 1 on the first
invalid one, printing the pydantic error. Prints "validated N resources" on success.
"""
import importlib
import json
import sys


def model_for(resource_type):
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def main(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        resource_type = data.get("resourceType")
        try:
            model_for(resource_type).model_validate(data)
        except Exception as error:  # pydantic.ValidationError or an unknown resourceType
            print(f"{path}: {resource_type} is invalid: {error}")
            return 1
    print(f"validated {len(paths)} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
