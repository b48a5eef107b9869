try:
    from restoregate.entry import main
except KeyboardInterrupt:  # Ctrl-C in the very first instant: still one line, exit 3
    import os
    import sys

    sys.stderr.write("restoregate: interrupted: nothing was proven safe\n")
    sys.stderr.flush()
    os._exit(3)

main()
