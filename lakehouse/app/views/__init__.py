"""The pages drawn with Streamlit: each `show(lake, state)` draws its page from the logic of
`lakehouse.app` and returns the state its widgets chose (for the URL)."""
