"""One function per notebook: the work a notebook shows, kept testable outside Jupyter."""
