from restoregate.entry import main

main()
