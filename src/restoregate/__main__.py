from restoregate.cli import main

main()
