"""The web console: sign-in, the inbox of human tasks and their decision forms.

Every page loads the signed-in actor first and then asks for the object within that actor's
scope (an object outside it is 404). Decisions go to the workflows as typed updates with the
signed-in user as the actor, never a form field.
"""
