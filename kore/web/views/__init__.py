"""The web app's pages, one module per screen: sign-in, settings, transactions, accounts…"""
