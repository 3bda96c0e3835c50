"""The QA app: a read-only Streamlit app over a project's store (`lake app`).

`main.py` is the Streamlit script; the page logic lives in plain functions, one module per
concept (`sources`, `builds`, `failing`, `diff`, `lineage`, `state` for the page's state in the
URL, `rows` for paging and filtering in DuckDB), which return small frames, numbers and text
computed in the engine; `views/` draws them with Streamlit. Nothing here writes to the store.

Run it as `lake app` does:

    python -m streamlit run lakehouse/app/main.py --server.address 127.0.0.1 \
        --server.port 8501 --server.headless true --browser.gatherUsageStats false \
        -- --config lakehouse.toml [--env NAME]

Without `--config` after `--`, the script reads the config path from the environment variable
LAKEHOUSE_APP_CONFIG (and the environment from LAKEHOUSE_APP_ENV), else it looks for
lakehouse.toml from the current folder up.
"""
