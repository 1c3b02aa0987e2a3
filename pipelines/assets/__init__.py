"""The asset graph: each module holds the assets of one stage."""
